"""One router per capability. Core: recommend, events, admin, health, experiments; the web UI lives
in :mod:`discoverly.serve.ui`. Other capabilities (search, graph, privacy) add one module each with
``create_router(path, state) -> APIRouter`` and one line in
:data:`discoverly.serve.app.CAPABILITY_ROUTERS`."""
