"""ASGI middleware: refuse request bodies over the configured size without reading them whole,
on the unauthenticated loopback default requests addressed to another host name, and log one
line per request."""

from __future__ import annotations

import json
import logging
import time

from serving.errors import APIError, MisdirectedHost, PayloadTooLarge


class BodySizeLimit:
    """413 from Content-Length alone when it is given; for chunked bodies, as soon as the bytes
    received pass the limit (the app then sees a disconnect and its own reply is dropped)."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await self._reject(send)
        seen, rejected = 0, False

        async def limited_receive():
            nonlocal seen, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    rejected = True
                    await self._reject(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if not rejected:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not rejected:
                raise
            # The app saw the disconnect we gave it (ClientDisconnect); the 413 is already sent.

    async def _reject(self, send) -> None:
        await send_error(
            send,
            PayloadTooLarge(
                f"Request body is larger than {self.max_bytes} bytes (RAILYARD_MAX_BODY_BYTES)."
            ),
        )


async def send_error(send, error: APIError) -> None:
    """Answer with `error` in OpenAI's envelope, below the app (its handlers are not reached)."""
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(error.body()).encode()})


class LoopbackHosts:
    """Without API keys the gateway trusts whoever reaches it on loopback. A web page can reach
    loopback too, through a DNS name rebound to 127.0.0.1 (DNS rebinding): its requests carry
    that name as Host, so only loopback names (any port) are served."""

    def __init__(self, app, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1").lower()
        name = host[1:].partition("]")[0] if host.startswith("[") else host.rpartition(":")[0]
        if (name or host) in self.allowed:
            return await self.app(scope, receive, send)
        await send_error(
            send,
            MisdirectedHost(
                "This gateway serves loopback host names only (it has no API keys); "
                "configure RAILYARD_API_KEYS_FILE to serve other names."
            ),
        )


PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
CHAT = "/v1/chat/completions"
access = logging.getLogger("railyard.access")


class AccessLog:
    """One INFO line per request (method, path, status, milliseconds, trace id), in place of
    uvicorn's access log; probes and scrapes at DEBUG. A chat completion answered 200 is logged
    by the chat service once its answer is settled (route, outcome), not here as well."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, status, trace = time.perf_counter(), 500, None

        async def sending(message):
            nonlocal status, trace
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = dict(message.get("headers") or [])
                trace = headers.get(b"x-railyard-trace-id", b"").decode() or None
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            path = scope.get("path", "")
            if not (path == CHAT and status == 200):
                level = logging.DEBUG if path in PROBES else logging.INFO
                ms = (time.perf_counter() - start) * 1000
                access.log(level, "%s %s %d %.0f ms%s", scope.get("method"), path, status, ms,
                           f" trace={trace}" if trace else "")  # fmt: skip


def log_chat(
    latency_ms: float, trace_id: str, route: str | None, outcome: str, stream: bool
) -> None:
    """The access line of a chat completion answered 200, once its answer is settled."""
    access.info("POST %s 200 %.0f ms trace=%s route=%s outcome=%s stream=%s",
                CHAT, latency_ms, trace_id, route, outcome, stream)  # fmt: skip
