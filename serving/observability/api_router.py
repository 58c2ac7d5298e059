"""GET /v1/traces/{id}, GET /v1/traces, POST /v1/feedback, GET /v1/feedback/summary,
GET /v1/spend and GET /metrics (Prometheus text format)."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from serving.access.dependency import require_key
from serving.errors import NotFound
from serving.observability.protocol import FeedbackRequest

router = APIRouter()


@router.get("/v1/traces/{trace_id}", dependencies=[Depends(require_key)])
async def get_trace(trace_id: str, request: Request) -> dict:
    trace = await asyncio.to_thread(request.app.state.traces.get, trace_id)
    if trace is None:
        raise NotFound(f"No trace with id '{trace_id}'.", param="trace_id", code="trace_not_found")
    return trace


@router.get("/v1/traces", dependencies=[Depends(require_key)])
async def list_traces(
    request: Request,
    since_s: Annotated[float | None, Query(ge=0, description="only the last N seconds")] = None,
    project: str | None = None,
    route: str | None = None,
    outcome: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict:
    since = time.time() - since_s if since_s is not None else None
    rows = await asyncio.to_thread(
        request.app.state.traces.search,
        since=since, project=project, route=route, outcome=outcome, limit=limit,
    )  # fmt: skip
    return {"object": "list", "data": rows}


@router.post("/v1/feedback", dependencies=[Depends(require_key)])
async def post_feedback(body: FeedbackRequest, request: Request) -> dict:
    store = request.app.state.traces
    if not await asyncio.to_thread(store.add_feedback, body.trace_id, body.score, body.comment):
        raise NotFound(
            f"No trace with id '{body.trace_id}'.", param="trace_id", code="trace_not_found"
        )
    return {"object": "feedback", "trace_id": body.trace_id, "status": "recorded"}


@router.get("/v1/feedback/summary", dependencies=[Depends(require_key)])
async def feedback_summary(request: Request) -> dict:
    rows = await asyncio.to_thread(request.app.state.traces.feedback_summary)
    return {"object": "list", "data": rows}


@router.get("/v1/spend", dependencies=[Depends(require_key)])
async def spend(
    request: Request,
    days: Annotated[float, Query(gt=0, le=366, description="the last N days")] = 7,
    project: str | None = None,
) -> dict:
    """Cost and requests per UTC day, project and user."""
    rows = await asyncio.to_thread(
        request.app.state.traces.spend, since=time.time() - days * 86_400, project=project
    )
    return {"object": "list", "data": rows}


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
