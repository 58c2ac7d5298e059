"""GET /v1/traces/{id}, GET /v1/traces, POST /v1/feedback, GET /v1/feedback/summary,
GET /v1/spend, GET /v1/spend/routes, GET /v1/rails/blocks and GET /metrics (Prometheus text format).

A key reads and scores its own project's traces only (another project's trace is "not found",
so ids cannot be probed); admin keys, and the operator of a gateway without keys, see all."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from serving.access import Caller
from serving.access.dependency import require_key, sees_all
from serving.errors import NotFound
from serving.observability.protocol import FeedbackRequest

router = APIRouter()
Authorised = Annotated[Caller, Depends(require_key)]


def _scope(request: Request, caller: Caller, project: str | None = None) -> str | None:
    """The project a read is limited to: the caller's own unless it sees all."""
    return project if sees_all(request, caller) else caller.project


@router.get("/v1/traces/{trace_id}")
async def get_trace(trace_id: str, request: Request, caller: Authorised) -> dict:
    trace = await asyncio.to_thread(request.app.state.traces.get, trace_id)
    scope = _scope(request, caller)
    if trace is None or scope not in (None, trace["project"]):
        raise NotFound(f"No trace with id '{trace_id}'.", param="trace_id", code="trace_not_found")
    return trace


@router.get("/v1/traces")
async def list_traces(
    request: Request,
    caller: Authorised,
    since_s: Annotated[float | None, Query(ge=0, description="only the last N seconds")] = None,
    project: str | None = None,
    route: str | None = None,
    outcome: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict:
    since = time.time() - since_s if since_s is not None else None
    rows = await asyncio.to_thread(
        request.app.state.traces.search,
        since=since, project=_scope(request, caller, project), route=route, outcome=outcome,
        limit=limit,
    )  # fmt: skip
    return {"object": "list", "data": rows}


@router.post("/v1/feedback")
async def post_feedback(body: FeedbackRequest, request: Request, caller: Authorised) -> dict:
    store = request.app.state.traces
    added = await asyncio.to_thread(
        store.add_feedback, body.trace_id, body.score, body.comment,
        project=_scope(request, caller), correction=body.correction,
    )  # fmt: skip
    if not added:
        raise NotFound(
            f"No trace with id '{body.trace_id}'.", param="trace_id", code="trace_not_found"
        )
    return {"object": "feedback", "trace_id": body.trace_id, "status": "recorded"}


@router.get("/v1/feedback/summary")
async def feedback_summary(request: Request, caller: Authorised) -> dict:
    rows = await asyncio.to_thread(
        request.app.state.traces.feedback_summary, project=_scope(request, caller)
    )
    return {"object": "list", "data": rows}


Days = Annotated[float, Query(gt=0, le=366, description="the last N days")]


async def _over_days(request: Request, caller: Caller, read, days: float, project) -> dict:
    """A store reading over the last `days`, limited to what the caller may see."""
    rows = await asyncio.to_thread(
        read, since=time.time() - days * 86_400, project=_scope(request, caller, project)
    )
    return {"object": "list", "data": rows}


@router.get("/v1/spend")
async def spend(
    request: Request, caller: Authorised, days: Days = 7, project: str | None = None
) -> dict:
    """Cost and requests per UTC day, project and user."""
    return await _over_days(request, caller, request.app.state.traces.spend, days, project)


@router.get("/v1/spend/routes")
async def spend_by_route(
    request: Request, caller: Authorised, days: Days = 7, project: str | None = None
) -> dict:
    """Requests and cost per UTC day and route (local, fallback, cache, blocked)."""
    return await _over_days(request, caller, request.app.state.traces.routes, days, project)


@router.get("/v1/rails/blocks")
async def rail_blocks(
    request: Request, caller: Authorised, days: Days = 7, project: str | None = None
) -> dict:
    """How many requests each rail stopped."""
    return await _over_days(request, caller, request.app.state.traces.rail_blocks, days, project)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
