"""FastAPI dependencies: with API keys on, the admin, trace and feedback endpoints need a key,
and the admin endpoints and API docs an admin key. Without keys the gateway listens on loopback
only (or RAILYARD_ALLOW_UNAUTHENTICATED says otherwise), where every caller is the operator."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from serving.access.keys import Caller
from serving.errors import Forbidden


async def require_key(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Caller | None:
    keys = request.app.state.keys
    return None if keys is None else keys.authenticate(authorization)


async def require_admin(caller: Annotated[Caller | None, Depends(require_key)]) -> Caller | None:
    if caller is not None and not caller.admin:
        raise Forbidden(
            "This endpoint needs an admin key (`railyard keys add --project NAME --admin`)."
        )
    return caller
