"""Model listing, who a key is (GET /v1/me, for the console), and health: liveness says the
process runs, readiness that it can answer."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from serving.access import Caller
from serving.access.dependency import require_key, sees_all
from serving.chat.protocol import ModelCard, ModelList
from serving.chat.service import MODEL_NAME

router = APIRouter()
STARTED = int(time.time())


@router.get("/v1/models", response_model=ModelList, dependencies=[Depends(require_key)])
async def list_models() -> ModelList:
    return ModelList(data=[ModelCard(id=MODEL_NAME, created=STARTED)])


@router.get("/v1/me")
async def me(request: Request, caller: Annotated[Caller, Depends(require_key)]) -> dict:
    """The caller as the gateway sees it: its project, whether it is an admin (reads every
    project and may use the admin endpoints), and whether keys are on at all."""
    return {
        "object": "caller",
        "keys": request.app.state.keys is not None,
        "key_id": None if caller.anonymous else caller.key_id,
        "project": caller.project,
        "admin": sees_all(request, caller),
    }


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    pool = await request.app.state.chat_model.local_pool_health()
    checks = {
        "graph": getattr(request.app.state, "chat", None) is not None,
        "vector_store": await request.app.state.knowledge.check_ready(),
        "local_model": any(pool.values()),  # one server of the pool is enough to serve
    }
    ready = all(checks.values())
    body = {"status": "ready" if ready else "not_ready", "checks": checks, "local_servers": pool}
    return JSONResponse(body, status_code=200 if ready else 503)
