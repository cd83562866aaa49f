"""Dependencies shared by the routers: the service state and the admin token check."""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request

from discoverly.serve.state import ServiceState

__all__ = ["service", "require_admin"]


def service(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


def require_admin(request: Request) -> None:
    """``Authorization: Bearer <token>`` must match the configured admin token."""
    token = service(request).config.admin_token
    if not token:
        raise HTTPException(403, "admin endpoints are disabled: start the service with an admin token "
                                 "(--admin-token or DISCOVERLY_ADMIN_TOKEN)")
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise HTTPException(401, "a valid bearer token is required: send 'Authorization: Bearer <admin token>'",
                            headers={"WWW-Authenticate": "Bearer"})
