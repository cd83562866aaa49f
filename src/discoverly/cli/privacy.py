"""``discoverly privatize``: privatise a text column of a CSV/TSV/Parquet/JSONL file of any size.

Examples::

    discoverly privatize --mechanism truncated-gumbel --epsilon 10 --column text reviews.csv private.csv
    discoverly privatize -m multivariate-laplace -e 2 -c SMS --format tsv --seed 7 sms.tsv sms.parquet
    discoverly privatize -m truncated-gumbel -e 3 -c body --oov drop --stats stats.json in.jsonl out.jsonl

The file is streamed in chunks of ``--chunk-size`` rows (constant memory), written to a temporary
file and renamed when complete. The privacy statistics (tokens, out-of-vocabulary counts and what
was done with them, the share of words left unchanged, N_w and S_w by word-frequency bucket, the
mechanism, ε, its scale and the guarantee in words) go to ``--stats`` (default: ``OUT.privacy.json``,
plus a per-word table ``OUT.privacy.words.parquet``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

__all__ = ["privatize"]

_FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".parquet": "parquet", ".pq": "parquet",
            ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


def privatize(
    source: Path = typer.Argument(..., help="Input file: CSV, TSV, Parquet or JSONL.", show_default=False),
    target: Path = typer.Argument(..., help="Output file; its format follows its extension (or the input's).",
                                  show_default=False),
    mechanism: str = typer.Option("truncated-gumbel", "--mechanism", "-m",
                                  help="truncated-gumbel, multivariate-laplace, mahalanobis or "
                                       "truncated-gumbel-public."),
    epsilon: float = typer.Option(..., "--epsilon", "-e", help="Privacy level ε > 0 per unit distance on the "
                                  "vector scale (larger: less noise). Required.", show_default=False),
    column: str = typer.Option("text", "--column", "-c", help="The text column to privatise."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (omit for fresh randomness; the stats "
                                    "record whether a seed was used)."),
    oov: str = typer.Option("random", "--oov", help="Out-of-vocabulary words: random (a random vocabulary "
                            "word), drop, mask, or keep (no privacy for them; counted in the stats)."),
    stats: Path | None = typer.Option(None, "--stats", help="Where to write the privacy statistics "
                                      "(default: OUT.privacy.json)."),
    embeddings: Path | None = typer.Option(None, "--embeddings", help="Word vectors: .npz (words, vectors[, "
                                           "zipf]) or a GloVe/word2vec text file. Default: the public "
                                           "en_core_web_md vectors in DISCOVERLY_DATA_DIR."),
    scale: str = typer.Option("raw", "--scale", help="Vector scale ε is stated on: raw, unit, or a factor."),
    mean_k: float | None = typer.Option(None, "--mean-k", help="truncated-gumbel: Poisson mean of the number "
                                        "of neighbours flattened (default ln(n-1))."),
    flatten: float = typer.Option(0.98, "--flatten", help="truncated-gumbel: how far the k nearest "
                                  "neighbours are pulled to the k-th's distance (0..1)."),
    search: str = typer.Option("exact", "--search", help="multivariate-laplace: exact (BLAS), hnsw or ivf "
                               "(faiss; faster, same guarantee)."),
    input_format: str | None = typer.Option(None, "--format", help="csv, tsv, parquet or jsonl (default: "
                                            "from the input's extension)."),
    separator: str | None = typer.Option(None, "--separator", help="CSV field separator (default , or tab "
                                         "for tsv)."),
    no_header: bool = typer.Option(False, "--no-header", help="The CSV/TSV input has no header line; its "
                                   "columns are then named column_1, column_2, … A CSV/TSV output has no "
                                   "header line either."),
    missing: str = typer.Option("error", "--missing", help="Missing (null) cells: error, skip (left null), "
                                "or empty (treated as empty text)."),
    chunk_size: int = typer.Option(20_000, "--chunk-size", help="Rows per chunk (memory stays constant)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUT if it exists."),
    progress: bool | None = typer.Option(None, "--progress/--no-progress", help="Progress bar (default: on "
                                         "when attached to a terminal)."),
) -> None:
    """Privatise a text column with metric differential privacy on word embeddings."""
    from discoverly.errors import ConfigError, DataError
    from discoverly.privacy.mechanism import as_generator, check_epsilon
    from discoverly.privacy.tokenize import OOV_POLICIES

    eps = check_epsilon(epsilon)
    rng = as_generator(seed)
    if oov not in OOV_POLICIES:
        raise ConfigError(f"--oov must be one of {', '.join(OOV_POLICIES)}, got {oov!r}")
    if missing not in ("error", "skip", "empty"):
        raise ConfigError(f"--missing must be error, skip or empty, got {missing!r}")
    if chunk_size < 1:
        raise ConfigError(f"--chunk-size must be at least 1, got {chunk_size}")
    if not source.exists():
        raise DataError(f"input file {str(source)!r} does not exist")
    if not source.is_file():
        raise DataError(f"{str(source)!r} is a directory, not a file; give the CSV, TSV, Parquet or JSONL file "
                        "to privatise")
    from discoverly.artifacts import check_file_target

    # a folder (or a path below a file, a read-only place) fails now, not with a raw error after the work
    check_file_target(target, what="the privatised file")
    if target.exists() and not overwrite:
        raise ConfigError(f"{str(target)!r} exists; pass --overwrite to replace it")
    if target.resolve() == source.resolve():
        raise ConfigError("the output file must differ from the input file")
    summary_path = stats or target.with_name(target.name + ".privacy.json")
    _check_stats_target(summary_path, source, target)
    in_fmt = _format(source, input_format)
    out_fmt = _format(target, None, fallback=in_fmt)
    show = sys.stderr.isatty() if progress is None else progress

    mech = _mechanism(mechanism, embeddings, scale, oov=oov, mean_k=mean_k, flatten=flatten, search=search,
                      progress=show)
    mech.prepare(eps)

    from discoverly.privacy.progress import ticker
    from discoverly.privacy.statistics import TextStatistics
    from discoverly.privacy.stream import read_chunks, write_chunks

    statistics = TextStatistics(mech, eps, seed=seed, chunk_size=chunk_size)
    sep = separator or ("\t" if in_fmt == "tsv" else ",")
    total = _row_count(source, in_fmt)

    def chunks() -> Any:
        import polars as pl

        with ticker("privatising", total, enabled=show, unit="rows") as bar:
            for frame in read_chunks(source, in_fmt, chunk_size=chunk_size, separator=sep, header=not no_header,
                                     new_fields=out_fmt == "jsonl"):
                if column not in frame.columns:
                    import difflib

                    close = difflib.get_close_matches(column, frame.columns, n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    seps = [c for c in ";|\t," if len(frame.columns) == 1 and c in frame.columns[0] and c != sep]
                    if seps:  # one column named "id;text": another separator
                        hint = f" (its header looks separated by {seps[0]!r}: pass --separator {seps[0]!r})"
                    raise DataError(f"column {column!r} is not in {str(source)!r}{hint}; columns: "
                                    f"{', '.join(frame.columns)}. Choose it with --column")
                texts = frame[column]
                if texts.dtype.is_nested():
                    raise DataError(f"column {column!r} of {str(source)!r} holds {texts.dtype} values, not text; "
                                    "choose a text column with --column")
                if texts.dtype != pl.String:
                    texts = texts.cast(pl.String)
                nulls = texts.is_null()
                if nulls.any():
                    if missing == "error":
                        row = int(nulls.arg_max() or 0) + statistics.texts
                        raise DataError(f"row {row + 1} of column {column!r} is empty (null); pass --missing skip "
                                        "or --missing empty")
                    if missing == "empty":
                        texts = texts.fill_null("")
                keep = ~texts.is_null()
                values = texts.filter(keep).to_list()
                if values:
                    result = mech.run(values, eps, rng)
                    statistics.update(result)
                    new = iter(result.texts)
                    out = [next(new) if k else None for k in keep.to_list()]
                else:
                    out = [None] * frame.height
                bar.advance(frame.height)
                yield frame.with_columns(pl.Series(column, out, dtype=pl.String))

    write_chunks(chunks(), target, out_fmt, separator="\t" if out_fmt == "tsv" else ",", header=not no_header)
    written = statistics.write(summary_path)
    s = statistics.summary()
    share = s["unchanged_share"]
    unchanged = f"{share:.1%} of words unchanged" if share is not None else "no vocabulary words to change"
    typer.echo(f"privatised {s['texts']:,} texts ({s['tokens']:,} tokens, {s['out_of_vocabulary']:,} out of "
               f"vocabulary -> {oov}) with {mech.name} at epsilon={eps:g}; {unchanged}. "
               f"Wrote {target} and {written}", err=True)


def _check_stats_target(stats: Path, source: Path, target: Path) -> None:
    """Before any work: the statistics (JSON and the ``.words.parquet`` beside it) must not replace
    the input or the output (``--stats reviews.csv`` wrote JSON over the data), nor be a folder."""
    from discoverly.artifacts import check_file_target
    from discoverly.errors import ConfigError

    check_file_target(stats, what="the privacy statistics")
    for path in (stats, stats.with_suffix(".words.parquet")):
        for name, other in (("input", source), ("output", target)):
            if path.resolve() == other.resolve():
                raise ConfigError(f"--stats {str(stats)!r} would write the statistics over the {name} file "
                                  f"{str(other)!r}; choose another path, e.g. {str(target) + '.privacy.json'!r}")


def _format(path: Path, given: str | None, fallback: str | None = None) -> str:
    from discoverly.errors import ConfigError

    if given:
        if given not in ("csv", "tsv", "parquet", "jsonl"):
            raise ConfigError(f"--format must be csv, tsv, parquet or jsonl, got {given!r}")
        return given
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        if fallback:
            return fallback
        raise ConfigError(f"cannot tell the format of {str(path)!r} from its extension; use --format "
                          "csv|tsv|parquet|jsonl")
    return fmt


def _row_count(path: Path, fmt: str) -> int | None:
    from discoverly.errors import DataError

    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"cannot read {str(path)!r} as parquet: {exc}") from exc
    return None


def _mechanism(name: str, embeddings: Path | None, scale: str, **options: Any) -> Any:
    from discoverly.privacy.registry import create_mechanism
    from discoverly.privacy.vocabulary import WordEmbeddings

    if embeddings is None:
        emb = WordEmbeddings.default()
    elif embeddings.suffix.lower() == ".npz":
        emb = WordEmbeddings.from_npz(embeddings)
    else:
        emb = WordEmbeddings.from_text(embeddings)
    try:
        emb = emb.scaled(float(scale))
    except ValueError:
        emb = emb.scaled(scale)
    keep = {"oov": options["oov"]}
    if name in ("truncated-gumbel",):
        keep.update(mean_k=options["mean_k"], flatten=options["flatten"], progress=options["progress"])
    elif name in ("multivariate-laplace", "mahalanobis"):
        keep.update(search=options["search"])
    return create_mechanism(name, emb, **keep)
