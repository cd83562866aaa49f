"""Dependencies shared by the routers: the service state, the admin token check, and UTF-8 addresses."""

from __future__ import annotations

import hmac
from urllib.parse import unquote_to_bytes

from fastapi import HTTPException, Request

from discoverly.errors import DataError
from discoverly.serve.state import ServiceState

__all__ = ["service", "require_admin", "utf8_address"]


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
    request.state.admin = True  # its errors may show their cause (serve.problems)


async def utf8_address(request: Request) -> None:
    """Percent-encoded bytes in the path or the query must spell UTF-8 text. The server reads others as
    U+FFFD: ``/users/Zo%EB/recommendations`` (Latin-1) answered for the customer 'Zo\ufffd', the same
    one for every such id, and recorded their experiment exposures under that id. (``async``: checked on
    the event loop, without a thread hop per request.)"""
    for part, raw in (("path", request.scope.get("raw_path")), ("query", request.scope.get("query_string"))):
        if not raw:
            continue
        decoded = unquote_to_bytes(raw)
        try:
            decoded.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = decoded[exc.start:exc.end]
            raise DataError(f"the {part} of the address percent-encodes bytes that are not UTF-8 text "
                            f"({''.join(f'%{b:02X}' for b in bad)}); percent-encode ids as UTF-8 "
                            "(Zoë is Zo%C3%AB)") from None
