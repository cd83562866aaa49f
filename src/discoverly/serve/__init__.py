"""The HTTP service: app factory, config, event stores, model versions, experiments, web UI.

FastAPI and uvicorn are imported only when an app is created (``pip install 'discoverly[serve]'``).
"""

from discoverly.serve.config import ArmConfig, ExperimentConfig, ServeConfig, load_config

__all__ = ["ArmConfig", "ExperimentConfig", "ServeConfig", "create_app", "load_config", "open_store"]


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    if name == "create_app":
        from discoverly.serve.app import create_app

        return create_app
    if name == "open_store":
        from discoverly.serve.store import open_store

        return open_store
    raise AttributeError(f"module 'discoverly.serve' has no attribute {name!r}")
