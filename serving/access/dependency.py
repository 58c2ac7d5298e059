"""FastAPI dependency: with API keys on, the admin, trace and feedback endpoints need one too."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Request

from serving.access.keys import Caller


async def require_key(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Caller | None:
    keys = request.app.state.keys
    return None if keys is None else keys.authenticate(authorization)
