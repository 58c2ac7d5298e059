"""The app factory: builds the parts from Settings, hands them to the graph, mounts endpoints."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

import graph
from serving.access import KeyStore, RateLimiter, SharedRateLimiter
from serving.access.budgets import Budgets, ledger_for
from serving.access.keys import key_source
from serving.admin.api_router import router as admin_router
from serving.chat.api_router import router as chat_router
from serving.chat.checkpoints import checkpoint_database, checkpointer
from serving.chat.service import ChatService
from serving.chat.threads import ThreadRetention
from serving.console.api_router import router as console_router
from serving.database import open_database
from serving.errors import APIError, ConfigError, error_body
from serving.local_model.supervisor import LocalModelSupervisor
from serving.middleware import AccessLog, BodySizeLimit, LoopbackHosts
from serving.observability import Metrics, Observer, TraceStore
from serving.observability.alerts import Alerter
from serving.observability.api_router import router as observability_router
from serving.parts import Parts, seed
from serving.prompts import RolloutStore
from serving.settings import LOOPBACK_HOSTS, Settings
from serving.system.api_router import router as system_router
from serving.system.docs import router as docs_router

log = logging.getLogger("railyard")


def create_app(settings: Settings) -> FastAPI:
    check_exposure(settings)
    # Built here, not in the lifespan, so configuration mistakes fail before the server starts.
    metrics = Metrics()
    alerts = Alerter(
        settings.alert_webhook_url,
        window_s=settings.alert_window_s,
        min_requests=settings.alert_min_requests,
        error_rate=settings.alert_error_rate,
        fallback_rate=settings.alert_fallback_rate,
    )
    parts = Parts.build(settings, metrics=metrics, alerts=alerts)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        traces = TraceStore(open_database(settings, "traces.sqlite"), settings.trace_retention_days)
        app.state.traces = traces
        if (budget := parts.chat_model.budget) is not None:
            budget.seed(traces.fallback_cost(since=budget.day_start()))
        ledger = ledger_for(settings.redis_url, lambda since: traces.spend_by_caller(since=since))
        budgets = Budgets(ledger, alert=alerts.send, observe=metrics.observe_budget)
        supervisor = LocalModelSupervisor(settings) if settings.managed_local else None
        if supervisor is not None:
            supervisor.start()
        await parts.warm_up()
        seeding = await seed(parts)
        async with checkpointer(settings) as saver:
            otel = otel_exporter(settings)
            observer = Observer(traces, metrics, alerts, content=settings.trace_content, otel=otel)
            threads_db = checkpoint_database(settings)
            threads = ThreadRetention(threads_db, saver, settings.thread_retention_days)
            await threads.prune()
            parts.prompts.follow(RolloutStore(traces.database))
            app.state.chat = ChatService(
                graph.build(parts.context(), saver),
                settings, observer, threads, budgets, parts.prompts,
            )  # fmt: skip
            # What start-up built (models, policies, compiled graphs: millions of objects) lives
            # as long as the process: keep it out of the collector's full passes, each of which
            # would otherwise hold the GIL, and stall the event loop, for seconds.
            gc.collect()
            gc.freeze()
            try:
                yield
            finally:
                if seeding is not None:
                    seeding.cancel()
                if supervisor is not None:
                    await supervisor.stop()
                if otel is not None:
                    otel.close()
                parts.close()
                traces.close()
                threads_db.close()

    # The API docs are served by docs_router, behind the same keys as the admin endpoints.
    app = FastAPI(
        title="railyard",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.chat_model = parts.chat_model
    app.state.knowledge = parts.knowledge
    app.state.rails = parts.rails
    app.state.prompts = parts.prompts
    app.state.metrics = metrics
    source = key_source(settings)
    app.state.keys = KeyStore(source) if source is not None else None
    app.state.limiter = (
        SharedRateLimiter(settings.redis_url, settings.rate_limit_rpm, settings.rate_limit_tpm)
        if settings.redis_url
        else RateLimiter(settings.rate_limit_rpm, settings.rate_limit_tpm)
    )
    app.state.traces = None
    app.state.chat = None
    app.include_router(chat_router)
    app.include_router(system_router)
    app.include_router(admin_router)
    app.include_router(observability_router)
    app.include_router(docs_router)
    app.include_router(console_router)
    _install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if app.state.keys is None:
        app.add_middleware(LoopbackHosts, allowed=LOOPBACK_HOSTS | {settings.host})
    app.add_middleware(AccessLog)  # outermost: it sees what the others refuse too
    return app


def otel_exporter(settings: Settings):
    """The OpenTelemetry exporter when RAILYARD_OTLP_ENDPOINT is set."""
    if not settings.otlp_endpoint:
        return None
    from serving.observability.otel import OtelExporter

    models = {"local": settings.local_served_name, "fallback": settings.fallback_model}
    return OtelExporter(
        settings.otlp_endpoint, models, settings.otlp_service_name, settings.otlp_export_interval_s
    )


def from_environment() -> FastAPI:
    """The app of one `railyard serve --workers N` worker: its settings come from the
    environment (and railyard.yaml) the parent set up (serving/workers.py)."""
    from serving import offline
    from serving.cli import configure_logging

    offline.apply_defaults()
    settings = Settings()
    configure_logging(settings)
    return create_app(settings)


def check_exposure(settings: Settings) -> None:
    """No unauthenticated gateway beyond loopback unless the operator says so explicitly."""
    keys = settings.api_keys_file or settings.api_keys_database
    if settings.loopback_only or keys or settings.allow_unauthenticated:
        return
    raise ConfigError(
        f"refusing to listen on {settings.host} without API keys: anyone who reaches the port "
        "could chat on your fallback budget, read traces and start ingestion. Set "
        "RAILYARD_API_KEYS_FILE (create keys with `railyard keys add --project NAME [--admin]`), "
        "or RAILYARD_ALLOW_UNAUTHENTICATED=true if something in front of railyard authenticates."
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def api_error(request: Request, exc: APIError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers())

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(_validation_body(exc), status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
        return JSONResponse(error_body(str(exc.detail), kind, code), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse(error_body("Internal server error.", "server_error"), status_code=500)


def _validation_body(exc: RequestValidationError) -> dict:
    errors = exc.errors()
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        message = (
            "We could not parse the JSON body of your request. "
            "Please send valid JSON (Content-Type: application/json)."
        )
        return error_body(message, "invalid_request_error", "invalid_json")
    loc = [str(part) for part in first.get("loc", ()) if part != "body"]
    param = ".".join(loc) or None
    if first.get("type") == "missing" and not loc:
        message = "The request body is missing; send a JSON object."
    else:
        message = f"Invalid value for '{param}': {first.get('msg', 'invalid')}."
    return error_body(message, "invalid_request_error", "invalid_request", param)
