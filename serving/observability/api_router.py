"""GET /v1/traces/{id}, GET /v1/traces, POST /v1/feedback, GET /v1/feedback/summary,
GET /v1/spend, GET /v1/spend/routes, GET /v1/rails/blocks, GET /v1/kpis (the service levels)
and GET /metrics (Prometheus text format).

A key reads and rates the traces of its own requests only (anyone else's trace is "not found",
so ids cannot be probed), without their content (question and answer) or rail scores; its
spend and feedback summaries cover its project. Admin keys, and the operator of a gateway
without keys on loopback, see everything. One rating per key and trace: the last one counts."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response

from reports.kpis import kpis
from serving.access import Caller
from serving.access.dependency import require_key, sees_all
from serving.errors import InvalidRequest, NotFound, Unauthorized
from serving.observability.ids import FRESH_WAIT_S
from serving.observability.protocol import FeedbackRequest

router = APIRouter()
_T = TypeVar("_T")
Authorised = Annotated[Caller, Depends(require_key)]


def _scope(request: Request, caller: Caller, project: str | None = None) -> str | None:
    """The project a read is limited to: the caller's own unless it sees all."""
    return project if sees_all(request, caller) else caller.project


def _owner(request: Request, caller: Caller) -> str | None:
    """The key whose traces a caller may read and rate: its own, unless it sees all."""
    return None if sees_all(request, caller) else caller.key_id


def _for_owner(trace: dict) -> dict:
    """A trace as its (non-admin) key sees it: what happened and its ratings, without the
    stored question and answer or rail scores."""
    rails = [{k: v for k, v in verdict.items() if k != "score"} for verdict in trace["rails"]]
    hidden = ("content", "rails")
    return {k: v for k, v in trace.items() if k not in hidden} | {"rails": rails}


READS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="trace-reads")
"""The trace reads that may wait for another replica's commit: a pool of their own, so that
ids which never arrive cannot take the threads retrieval and the rails run on."""


async def _awaited(request: Request, trace_id: str, read: Callable[[], _T]) -> _T:
    """`read()` (no waiting of its own) on READS; for an id this deployment minted moments ago
    that is not there yet (another replica may still be committing it), again every 0.1 s for
    FRESH_WAIT_S, holding no thread between tries. A forged fresh id is a miss at once."""
    loop = asyncio.get_running_loop()
    store = request.app.state.traces
    deadline = loop.time() + (FRESH_WAIT_S if store.may_arrive(trace_id) else 0.0)
    # Polling: the commit happens on another replica, with nothing here to signal it.
    while not (result := await loop.run_in_executor(READS, read)) and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    return result


@router.get("/v1/traces/{trace_id}")
async def get_trace(trace_id: str, request: Request, caller: Authorised) -> dict:
    store = request.app.state.traces
    trace = await _awaited(request, trace_id, partial(store.get, trace_id, wait=False))
    owner = _owner(request, caller)
    if trace is None or owner not in (None, trace.get("key_id")):
        raise NotFound(f"No trace with id '{trace_id}'.", param="trace_id", code="trace_not_found")
    return trace if owner is None else _for_owner(trace)


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
        key_id=_owner(request, caller), limit=limit,
    )  # fmt: skip
    return {"object": "list", "data": rows}


@router.post("/v1/feedback")
async def post_feedback(body: FeedbackRequest, request: Request, caller: Authorised) -> dict:
    store = request.app.state.traces
    correction = await _checked_correction(request, body.correction)
    add = partial(
        store.add_feedback, body.trace_id, body.score, body.comment,
        project=_scope(request, caller), owner=_owner(request, caller), correction=correction,
        rater=caller.key_id, wait=False,
    )  # fmt: skip
    added = await _awaited(request, body.trace_id, add)
    if not added:
        raise NotFound(
            f"No trace with id '{body.trace_id}'.", param="trace_id", code="trace_not_found"
        )
    return {"object": "feedback", "trace_id": body.trace_id, "status": "recorded"}


async def _checked_correction(request: Request, correction: str | None) -> str | None:
    """A correction becomes the chosen side of exported training rows: it passes the input
    rails (refused if they block it, PII masked) and the leak rails (secrets and PII redacted)
    before it is stored."""
    rails = request.app.state.rails
    if correction is None or rails is None:
        return correction
    checked = await rails.check_input(correction)
    if checked.blocked is not None:
        raise InvalidRequest(
            f"The correction was refused by the input rails ({checked.blocked['name']}).",
            param="correction", code="correction_refused",
        )  # fmt: skip
    [redacted], _ = rails.scan_passages([{"text": checked.text}])
    return redacted["text"]


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


Hours = Annotated[float, Query(gt=0, le=24 * 90, description="the last N hours")]


@router.get("/v1/kpis")
async def service_levels(
    request: Request, caller: Authorised, hours: Hours = 24, project: str | None = None
) -> dict:
    """The service levels' KPIs over the last `hours` of traffic, each against its target
    (docs/slos.md): cache hit ratio, request latency p95, time to first token p95, supported
    answers, and the eval set's recall on the serving index."""
    rows = await asyncio.to_thread(
        request.app.state.traces.kpi_rows,
        since=time.time() - hours * 3600, project=_scope(request, caller, project),
    )  # fmt: skip
    recall = await asyncio.to_thread(_recall, request.app.state)
    return {"object": "list", "hours": hours, "data": kpis(rows, recall)}


def _recall(state) -> float | None:
    """The eval set's source_hit@5 on the latest index version checked (RAILYARD_EVAL_SET)."""
    if state.settings.eval_set is None:
        return None
    found = state.knowledge.ingestor.manifest.evaluations(str(state.settings.eval_set), limit=1)
    return found[0]["figures"].get("source_hit@5") if found else None


@router.get("/metrics")
async def metrics(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST

    token = request.app.state.settings.metrics_token
    if token is not None and not hmac.compare_digest(
        (authorization or "").encode(), f"Bearer {token.get_secret_value()}".encode()
    ):
        raise Unauthorized("GET /metrics needs RAILYARD_METRICS_TOKEN as a bearer token.")

    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
