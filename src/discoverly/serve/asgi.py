"""The ASGI entry point uvicorn imports in each worker process (``discoverly serve --workers N``).

The CLI passes the validated config as JSON in ``DISCOVERLY_SERVE_CONFIG``; each worker builds its
own app (its own store connections and loaded models), after limiting its malloc arenas
(:mod:`discoverly.serve.allocator`).
"""

from __future__ import annotations

import os
from typing import Any

from discoverly.errors import ConfigError
from discoverly.serve.config import ServeConfig

__all__ = ["factory", "ENV"]

ENV = "DISCOVERLY_SERVE_CONFIG"


def factory() -> Any:
    from discoverly.serve.allocator import limit_malloc_arenas
    from discoverly.serve.app import create_app

    limit_malloc_arenas()  # before the worker starts its threads (a no-op under `discoverly serve`, which did)
    text = os.environ.get(ENV)
    if not text:
        raise ConfigError(f"{ENV} is not set; start the service with `discoverly serve`")
    return create_app(ServeConfig.model_validate_json(text))
