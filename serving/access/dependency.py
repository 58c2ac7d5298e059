"""FastAPI dependencies: with API keys on, every /v1 endpoint needs a key, and the admin
endpoints and API docs an admin key. Without keys the gateway listens on loopback only, where
every caller is the operator; RAILYARD_ALLOW_UNAUTHENTICATED opens it to other addresses with
every caller an anonymous non-admin (no admin endpoints, only its own address's traces). Either way
each caller's requests to the endpoints other than chat are rate limited, apart from its chat."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, Header, Request

from serving.access.keys import Caller
from serving.errors import Forbidden


def identify(request: Request, authorization: str | None) -> Caller:
    """The key's caller when API keys are on; otherwise the client address (for rate limits)."""
    keys = request.app.state.keys
    if keys is not None:
        return keys.authenticate(authorization)
    host = request.client.host if request.client else "unknown"
    return Caller(key_id=f"addr:{host}", anonymous=True)


def sees_all(request: Request, caller: Caller) -> bool:
    """Whether the caller reads every project's traces, spend and feedback: admin keys, and the
    operator of a gateway without keys that listens on loopback only. Other callers see their
    own project's spend and their own requests' traces."""
    if request.app.state.keys is None:
        return request.app.state.settings.loopback_only
    return caller.admin


async def require_key(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Caller:
    def admitted() -> Caller:
        caller = identify(request, authorization)
        request.app.state.limiter.admit(f"{caller.key_id}:api", 0, caller.rpm, None)
        return caller

    # From a thread: the key table may be a database and the rate limits Redis.
    return await asyncio.to_thread(admitted)


async def require_admin(
    request: Request, caller: Annotated[Caller, Depends(require_key)]
) -> Caller:
    if not sees_all(request, caller):
        raise Forbidden(
            "This endpoint needs an admin key (`railyard keys add --project NAME --admin`)."
        )
    return caller
