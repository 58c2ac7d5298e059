"""Model listing and health: liveness says the process runs, readiness that it can answer."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from serving.access.dependency import require_key
from serving.chat.protocol import ModelCard, ModelList
from serving.chat.service import MODEL_NAME

router = APIRouter()
STARTED = int(time.time())


@router.get("/v1/models", response_model=ModelList, dependencies=[Depends(require_key)])
async def list_models() -> ModelList:
    return ModelList(data=[ModelCard(id=MODEL_NAME, created=STARTED)])


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
