"""Neighbour lists on vocabularies whose geometry is known by hand: words on a line (exact float32
distances, ties), duplicate vectors, every k up to n − 1, Δ_min/Δ_max, slicing, the artifact and
the cache's choice of lists. (Mutation testing: the tests compared the distances only, so the
neighbours' order, the tie-break, the k = n − 1 path and the cache's choices survived changes.)"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pytest

from discoverly.errors import ArtifactError, ConfigError
from discoverly.privacy.nearest import Neighbours, cache_dir, distance_blocks, exact_neighbours, neighbours
from discoverly.privacy.vocabulary import WordEmbeddings

from .conftest import make_embeddings


def line(positions: list[float]) -> WordEmbeddings:
    """Words at the given points of a line (in 2-D): distances are |a − b|, exact in float32."""
    v = np.zeros((len(positions), 2), dtype=np.float32)
    v[:, 0] = positions
    return WordEmbeddings([f"p{i}" for i in range(len(positions))], v, name="line")


def _by_hand(positions: list[float], k: int) -> tuple[list[list[int]], list[list[float]]]:
    """Each word, then its k nearest others by distance, ties by the lower row."""
    idx, dist = [], []
    for w, x in enumerate(positions):
        others = sorted((abs(x - y), j) for j, y in enumerate(positions) if j != w)[:k]
        idx.append([w] + [j for _, j in others])
        dist.append([0.0] + [d for d, _ in others])
    return idx, dist


# row:       0  1  2  3  4   5
POSITIONS = [0, 1, 2, 3, 4, 10]  # 1, 2, 3 each have two neighbours at distance 1: the lower row first


@pytest.mark.parametrize("k", [1, 2, 3, 5])  # 5 = n − 1: every other word, the full-sort path
@pytest.mark.parametrize("block", [2, 1024])
def test_neighbours_of_words_on_a_line(k: int, block: int) -> None:
    nb = exact_neighbours(line(POSITIONS), k, block=block)
    idx, dist = _by_hand(POSITIONS, k)
    assert nb.k == k and nb.indices.dtype == np.int32 and nb.distances.dtype == np.float32
    assert nb.indices.tolist() == idx
    assert nb.distances.tolist() == dist
    assert (nb.min_distance, nb.max_distance) == (1.0, 10.0)


def test_the_first_two_neighbours_by_hand() -> None:
    nb = exact_neighbours(line(POSITIONS), 2)
    assert nb.indices.tolist() == [[0, 1, 2], [1, 0, 2], [2, 1, 3], [3, 2, 4], [4, 3, 2], [5, 4, 3]]
    assert nb.distances[5].tolist() == [0.0, 6.0, 7.0]


def test_duplicate_vectors_come_second_at_distance_zero() -> None:
    emb = line([0, 0, 3, 7])
    for backend in ["numpy", "faiss"]:
        if backend == "faiss":
            pytest.importorskip("faiss")
        nb = exact_neighbours(emb, 3, backend=backend)
        assert nb.indices[:, 0].tolist() == [0, 1, 2, 3], backend  # the word itself, never its twin
        assert nb.indices[:2, 1].tolist() == [1, 0] and nb.distances[:2, 1].tolist() == [0.0, 0.0], backend
        assert nb.indices[2:].tolist() == [[2, 0, 1, 3], [3, 2, 0, 1]] or backend == "faiss"
        assert nb.distances[3].tolist() == [0.0, 4.0, 7.0, 7.0], backend
        assert (nb.min_distance, nb.max_distance) == (0.0, 7.0), backend


def test_faiss_lists_match_brute_force(toy: WordEmbeddings) -> None:
    pytest.importorskip("faiss")
    nb = exact_neighbours(toy, 6, backend="faiss", block=7)
    v = toy.vectors.astype(np.float64)
    d = np.linalg.norm(v[:, None] - v[None], axis=2)
    np.fill_diagonal(d, -1.0)  # the word itself first
    want = np.argsort(d, axis=1, kind="stable")[:, :7]
    assert nb.indices.tolist() == want.tolist()  # the toy vocabulary has no ties
    np.fill_diagonal(d, 0.0)
    np.testing.assert_allclose(nb.distances, np.take_along_axis(d, want, axis=1), rtol=1e-4, atol=1e-4)
    assert nb.max_distance == pytest.approx(d.max(), rel=1e-4)


def test_numpy_lists_match_brute_force(toy: WordEmbeddings) -> None:
    nb = exact_neighbours(toy, 6, block=7)
    v = toy.vectors.astype(np.float64)
    d = np.linalg.norm(v[:, None] - v[None], axis=2)
    np.fill_diagonal(d, -1.0)
    assert nb.indices.tolist() == np.argsort(d, axis=1, kind="stable")[:, :7].tolist()


@pytest.mark.parametrize("k", [0, -1, 6])
def test_k_outside_one_to_n_minus_one(k: int) -> None:
    with pytest.raises(ConfigError) as err:
        exact_neighbours(line(POSITIONS), k)
    assert str(err.value) == f"k must be between 1 and 5 (the vocabulary size - 1), got {k}"


def test_unknown_backend_message() -> None:
    with pytest.raises(ConfigError) as err:
        exact_neighbours(line(POSITIONS), 2, backend="annoy")
    assert str(err.value) == "unknown nearest-neighbour backend 'annoy'; use 'numpy' or 'faiss'"


def test_distance_blocks_squared_and_in_order() -> None:
    emb = line(POSITIONS)
    rows = np.array([5, 0, 2])
    blocks = list(distance_blocks(emb.vectors, rows, block=2, squared=True))
    assert [r.tolist() for r, _ in blocks] == [[5, 0], [2]]
    got = np.vstack([d for _, d in blocks])
    want = [[(POSITIONS[r] - y) ** 2 for y in POSITIONS] for r in rows]
    assert got.tolist() == want
    plain = np.vstack([d for _, d in distance_blocks(emb.vectors, rows, block=3)])
    assert plain.tolist() == [[abs(POSITIONS[r] - y) for y in POSITIONS] for r in rows]


def test_head_slices_and_refuses_more_than_it_holds() -> None:
    nb = exact_neighbours(line(POSITIONS), 4)
    h = nb.head(2)
    assert h.k == 2 and h.indices.tolist() == nb.indices[:, :3].tolist()
    assert h.distances.tolist() == nb.distances[:, :3].tolist()
    assert (h.min_distance, h.max_distance, h.fingerprint) == (nb.min_distance, nb.max_distance, nb.fingerprint)
    assert nb.head(4) is nb
    with pytest.raises(ConfigError) as err:
        nb.head(5)
    assert str(err.value) == "these lists hold 4 neighbours per word, 5 were asked for"


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    emb = line(POSITIONS)
    nb = exact_neighbours(emb, 3)
    back = Neighbours.load(nb.save(tmp_path / "nb"), embeddings=emb)
    assert back.indices.tolist() == nb.indices.tolist() and back.distances.tolist() == nb.distances.tolist()
    assert (back.k, back.min_distance, back.max_distance, back.fingerprint) == (3, 1.0, 10.0, emb.fingerprint())
    assert back.seconds == pytest.approx(nb.seconds)
    assert back.indices.dtype == np.int32 and back.distances.dtype == np.float32
    assert Neighbours.load(tmp_path / "nb").k == 3  # without a vocabulary to check against


def test_load_refuses_lists_of_another_vocabulary(tmp_path: Path) -> None:
    path = exact_neighbours(line(POSITIONS), 2).save(tmp_path / "nb")
    other = line([0, 1, 2, 3, 4, 11])
    with pytest.raises(ArtifactError) as err:
        Neighbours.load(path, embeddings=other)
    assert str(err.value) == (f"the neighbour lists in {str(path)!r} belong to another vocabulary (fingerprint "
                              f"{line(POSITIONS).fingerprint()}, expected {other.fingerprint()}); recompute them")


def test_neighbours_clips_k_and_can_skip_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCOVERLY_CACHE_DIR", str(tmp_path / "c"))
    nb = neighbours(line(POSITIONS), 50, cache=False)
    assert nb.k == 5 and nb.indices.tolist() == _by_hand(POSITIONS, 5)[0]
    assert not (tmp_path / "c").exists()
    assert cache_dir() == tmp_path / "c" / "privacy"
    monkeypatch.delenv("DISCOVERLY_CACHE_DIR")
    assert cache_dir() == Path.home() / ".cache" / "discoverly" / "privacy"


def test_the_cache_serves_the_smallest_list_long_enough(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    emb = make_embeddings(n=30, seed=3)
    monkeypatch.setenv("DISCOVERLY_CACHE_DIR", str(tmp_path))
    fp = emb.fingerprint()
    neighbours(emb, 3)  # cache=True: under cache_dir()
    assert sorted(p.name for p in (tmp_path / "privacy").iterdir()) == [f"neighbours-{fp}-3"]
    neighbours(emb, 8)  # the 3-NN lists are too short: computed and cached too
    neighbours(emb, 20)
    names = sorted(p.name for p in (tmp_path / "privacy").iterdir())
    assert names == [f"neighbours-{fp}-20", f"neighbours-{fp}-3", f"neighbours-{fp}-8"]
    # mark the cached lists so the one served can be told apart
    for have in (8, 20):
        art = Neighbours.load(tmp_path / "privacy" / f"neighbours-{fp}-{have}")
        Neighbours(art.indices, art.distances, art.min_distance, float(have), fp).save(
            tmp_path / "privacy" / f"neighbours-{fp}-{have}")
    got = neighbours(emb, 5)
    assert got.k == 5 and got.max_distance == 8.0  # the 8-NN lists, sliced; not the 20-NN ones
    assert neighbours(emb, 12).max_distance == 20.0


def test_a_broken_cache_entry_is_recomputed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    emb = line(POSITIONS)
    fp = emb.fingerprint()
    bad = tmp_path / f"neighbours-{fp}-4"
    bad.mkdir()
    (bad / "manifest.json").write_text('{"kind": "something-else"}')
    (tmp_path / f"neighbours-{fp}-notanumber").mkdir()
    with caplog.at_level(logging.WARNING, logger="discoverly.privacy.nearest"):
        nb = neighbours(emb, 2, cache=tmp_path)
    assert nb.indices.tolist() == _by_hand(POSITIONS, 2)[0]
    assert "ignoring a broken neighbour cache" in caplog.text
    assert (tmp_path / f"neighbours-{fp}-2").is_dir()  # the fresh lists are cached


def test_integer_vectors_against_a_plain_sort() -> None:
    """400 words at integer points: float32 distances are exact, so the lists must equal a plain sort
    by (squared distance, row), except which of the words tied at the k-th distance make the cut
    (the partial sort picks them; any of them is a correct k-th neighbour, still listed by row)."""
    rng = np.random.default_rng(7)
    v = rng.integers(-6, 7, size=(400, 4)).astype(np.float32)  # many equal distances and a few duplicates
    emb = WordEmbeddings([f"i{j}" for j in range(400)], v, name="grid")
    k = 25
    nb = exact_neighbours(emb, k, block=96)
    pts = v.astype(int).tolist()
    d2 = [[sum((a - b) ** 2 for a, b in zip(p, q, strict=True)) for q in pts] for p in pts]
    for w in range(0, 400, 7):
        others = sorted((d2[w][j], j) for j in range(400) if j != w)[:k]
        assert nb.distances[w].tolist() == [0.0] + [float(np.float32(np.sqrt(d))) for d, _ in others]
        last = others[-1][0]
        inside = [j for d, j in others if d < last]
        got = nb.indices[w].tolist()
        assert got[: len(inside) + 1] == [w, *inside]
        cut = got[len(inside) + 1:]
        assert cut == sorted(cut) and set(cut) <= {j for j in range(400) if j != w and d2[w][j] == last}
    off = [d2[a][b] for a in range(400) for b in range(400) if a != b]
    assert nb.min_distance == np.sqrt(min(off)) and nb.max_distance == pytest.approx(np.sqrt(max(off)), rel=1e-6)


def test_maximum_distance_below_one() -> None:
    nb = exact_neighbours(line([0, 0.25, 0.5]), 1)
    assert (nb.min_distance, nb.max_distance) == (0.25, 0.5)


def test_rounding_never_gives_a_negative_squared_distance() -> None:
    # two nearly equal long vectors: ‖a‖² + ‖b‖² − 2a·b rounds below zero in float32
    base = (np.random.default_rng(0).normal(size=8) * 100).astype(np.float32)
    v = np.vstack([base, base + np.float32(1e-3), base * np.float32(1.0000001)])
    emb = WordEmbeddings(["a", "b", "c"], v, name="close")
    for squared in (True, False):
        (_, d), = distance_blocks(v, np.arange(3), squared=squared)
        assert d.dtype == np.float32 and (d >= 0).all() and np.isfinite(d).all()
    nb = exact_neighbours(emb, 2)
    assert np.isfinite(nb.distances).all() and nb.min_distance >= 0


def test_seconds_is_the_time_taken(caplog: pytest.LogCaptureFixture) -> None:
    import time

    t0 = time.perf_counter()
    with caplog.at_level(logging.INFO, logger="discoverly.privacy.nearest"):
        nb = exact_neighbours(line(POSITIONS), 2)
    assert 0 < nb.seconds <= time.perf_counter() - t0
    assert nb.head(1).seconds == nb.seconds
    assert caplog.messages == [f"exact 2-NN lists of 6 words in {nb.seconds:.1f}s"]


def test_progress_is_off_by_default_and_shows_the_words(capsys: pytest.CaptureFixture[str]) -> None:
    neighbours(line(POSITIONS), 2, cache=False)
    exact_neighbours(line(POSITIONS), 2)
    assert capsys.readouterr().err == ""
    exact_neighbours(line(POSITIONS), 2, progress=True)
    err = capsys.readouterr().err.strip()
    assert re.match(r"nearest neighbours .* 6/6 words ", err), err


def test_self_first_moves_the_word_to_column_zero() -> None:
    from discoverly.privacy.nearest import _self_first

    ii = np.array([[1, 7, 2, 3], [4, 9, 7, 1], [0, 2, 5, 8]])
    dd = np.array([[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 2.0, 3.0], [0.0, 0.0, 0.0, 0.0]])
    _self_first(np.array([7, 9, 3]), ii, dd)
    # 7 was second, 9 second, 3 absent (it goes first and the last neighbour drops out)
    assert ii.tolist() == [[7, 1, 2, 3], [9, 4, 7, 1], [3, 0, 2, 5]]
    assert dd.tolist() == [[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 2.0, 3.0], [0.0, 0.0, 0.0, 0.0]]
    ii, dd = np.array([[1, 2, 6, 3]]), np.array([[0.0, 0.0, 0.0, 2.0]])
    _self_first(np.array([6]), ii, dd)  # third: the two before it shift right by one
    assert ii.tolist() == [[6, 1, 2, 3]] and dd.tolist() == [[0.0, 0.0, 0.0, 2.0]]


def test_faiss_with_more_twins_than_neighbours() -> None:
    pytest.importorskip("faiss")
    emb = line([5, 5, 5, 5, 5, 9])
    nb = exact_neighbours(emb, 2, backend="faiss")
    assert nb.indices[:, 0].tolist() == list(range(6))
    for w in range(5):
        assert set(nb.indices[w, 1:].tolist()) <= set(range(5)) - {w} and nb.distances[w].tolist() == [0, 0, 0]
    assert nb.indices[5].tolist()[0] == 5 and nb.distances[5].tolist() == [0.0, 4.0, 4.0]


def test_faiss_missing_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from discoverly.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss -> ImportError
    with pytest.raises(MissingDependencyError) as err:
        exact_neighbours(line(POSITIONS), 2, backend="faiss")
    assert str(err.value) == ("'faiss' is needed for exact nearest neighbours with faiss but is not installed. "
                              "Install it with: pip install 'discoverly[privacy]'")


def _artifact(path: Path, manifest: dict[str, object], arrays: dict[str, np.ndarray]) -> Path:
    from discoverly.artifacts import write_artifact

    return write_artifact(path, manifest, arrays)


def test_the_manifest_and_a_damaged_artifact(tmp_path: Path) -> None:
    import json

    emb = line(POSITIONS)
    nb = exact_neighbours(emb, 3)
    manifest = json.loads((nb.save(tmp_path / "nb") / "manifest.json").read_text())
    assert {k: manifest[k] for k in ("kind", "k", "fingerprint", "min_distance", "max_distance")} == {
        "kind": "privacy-neighbours", "k": 3, "fingerprint": emb.fingerprint(), "min_distance": 1.0,
        "max_distance": 10.0}
    base = {"kind": "privacy-neighbours", "fingerprint": emb.fingerprint(), "min_distance": 1.0, "max_distance": 10.0}
    # no 'seconds' (an older artifact): 0
    old = _artifact(tmp_path / "old", base, {"indices": nb.indices, "distances": nb.distances})
    assert Neighbours.load(old, embeddings=emb).seconds == 0.0
    missing = _artifact(tmp_path / "missing", base, {"indices": nb.indices})
    with pytest.raises(ArtifactError) as err:
        Neighbours.load(missing, embeddings=emb)
    assert str(err.value) == f"{str(missing)!r} lacks the array 'distances'"
    short = _artifact(tmp_path / "short", base, {"indices": nb.indices[:5, :3], "distances": nb.distances[:5, :3]})
    with pytest.raises(ArtifactError) as err:
        Neighbours.load(short, embeddings=emb)
    assert str(err.value) == f"{str(short)!r} has lists for 5 words, the vocabulary has 6"
    other = _artifact(tmp_path / "other", {**base, "kind": "something-else"},
                      {"indices": nb.indices, "distances": nb.distances})
    with pytest.raises(ArtifactError, match="privacy-neighbours"):
        Neighbours.load(other)


def test_the_cache_uses_a_list_of_exactly_k_and_checks_its_vocabulary(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    emb, other = line(POSITIONS), line([0, 1, 2, 3, 4, 12])
    fp = emb.fingerprint()
    nb = exact_neighbours(emb, 3)
    Neighbours(nb.indices, nb.distances, 1.0, 99.0, fp).save(tmp_path / f"neighbours-{fp}-3")  # marked
    assert neighbours(emb, 3, cache=tmp_path).max_distance == 99.0
    # lists that claim this vocabulary's name but hold another's: a warning, then the right lists
    wrong = exact_neighbours(other, 4)
    wrong.save(tmp_path / f"neighbours-{fp}-4")
    with caplog.at_level(logging.WARNING, logger="discoverly.privacy.nearest"):
        got = neighbours(emb, 4, cache=tmp_path)
    assert got.indices.tolist() == _by_hand(POSITIONS, 4)[0] and got.max_distance == 10.0
    assert caplog.messages == [f"ignoring a broken neighbour cache {tmp_path / f'neighbours-{fp}-4'}: the neighbour "
                               f"lists in {str(tmp_path / f'neighbours-{fp}-4')!r} belong to another vocabulary "
                               f"(fingerprint {other.fingerprint()}, expected {fp}); recompute them"]


def test_a_cache_entry_without_a_number_does_not_hide_the_others(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    emb = line(POSITIONS)
    fp = emb.fingerprint()
    nb = exact_neighbours(emb, 4)
    Neighbours(nb.indices, nb.distances, 1.0, 99.0, fp).save(tmp_path / f"neighbours-{fp}-4")
    (tmp_path / f"neighbours-{fp}-partial").mkdir()
    real_glob = Path.glob
    monkeypatch.setattr(Path, "glob", lambda self, pattern: iter(sorted(real_glob(self, pattern), reverse=True)))
    assert neighbours(emb, 2, cache=tmp_path).max_distance == 99.0  # the '-partial' entry came first


def test_an_unwritable_cache_is_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    emb = line(POSITIONS)
    with caplog.at_level(logging.WARNING, logger="discoverly.privacy.nearest"):
        nb = neighbours(emb, 2, cache=blocker)
    assert nb.indices.tolist() == _by_hand(POSITIONS, 2)[0]
    assert len(caplog.messages) == 1
    assert caplog.messages[0].startswith(f"could not cache neighbour lists in {blocker}: ")
    assert caplog.messages[0].endswith("is a file, not a folder")  # the reason
