"""The app factory: builds the parts from Settings, hands them to the graph, mounts endpoints."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from serving.admin.api_router import router as admin_router
from serving.chat.api_router import router as chat_router
from serving.console.api_router import router as console_router
from serving.errors import APIError, ConfigError, error_body
from serving.middleware import AccessLog, BodySizeLimit, LoopbackHosts
from serving.observability.api_router import router as observability_router
from serving.parts import Parts
from serving.settings import LOOPBACK_HOSTS, Settings
from serving.system.api_router import router as system_router
from serving.system.docs import router as docs_router

log = logging.getLogger("railyard")
ROUTERS = (
    chat_router,
    system_router,
    admin_router,
    observability_router,
    docs_router,
    console_router,
)
"""Every endpoint the gateway serves (the docs' endpoint list is generated from these)."""


def create_app(settings: Settings) -> FastAPI:
    """The gateway: its parts (serving/parts.py, built now, so configuration mistakes fail
    before the server starts; started in the lifespan) and the endpoints over them."""
    check_exposure(settings)
    parts = Parts.served(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with parts.open() as served:
            app.state.traces, app.state.chat = served.traces, served.chat
            yield

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
    app.state.metrics = parts.metrics
    app.state.keys = parts.keys
    app.state.limiter = parts.limiter
    app.state.traces = None
    app.state.chat = None
    for router in ROUTERS:
        app.include_router(router)
    _install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if app.state.keys is None:
        app.add_middleware(LoopbackHosts, allowed=LOOPBACK_HOSTS | {settings.host})
    app.add_middleware(AccessLog)  # outermost: it sees what the others refuse too
    return app


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
