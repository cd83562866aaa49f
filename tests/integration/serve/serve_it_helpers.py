"""Helpers of the service integration tests: a small artifacts tree and a real uvicorn server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "it-s3cret"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_artifacts(root: Path) -> Path:
    """models/v0001 (item-to-item, corrected) and v0002 (bestsellers) fitted on a synthetic store."""
    from discoverly.data.datasets import load_dataset
    from discoverly.recommend.registry import create

    ds = load_dataset("synthetic-store", n_customers=300, n_items=120, days=90, rng=7)
    create("corrected").fit(ds.interactions).save(root / "models" / "v0001")
    create("bestsellers").fit(ds.interactions).save(root / "models" / "v0002")
    (root / "CURRENT").write_text("v0001\n")
    if ds.catalog is not None:
        ds.catalog.table.write_parquet(root / "catalog.parquet")
    return root


class Server:
    """``discoverly serve`` in a child process on 127.0.0.1; stops by itself at the end of the test."""

    def __init__(self, artifacts: Path, *, store: str | None = None, workers: int = 1,
                 extra: list[str] | None = None) -> None:
        self.artifacts = artifacts
        self.store = store
        self.workers = workers
        self.extra = extra or []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = artifacts.parent / f"server-{self.port}.log"

    def start(self, timeout: float = 90.0) -> Server:
        cmd = [sys.executable, "-m", "discoverly", "serve", "--artifacts", str(self.artifacts), "--host",
               "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers), "--admin-token", TOKEN,
               *self.extra]
        if self.store:
            cmd += ["--store", self.store]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the server did not answer within {timeout}s: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL the whole process group (uvicorn's supervisor and its workers) at once."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
