"""ASGI middleware: refuse request bodies over the configured size without reading them whole,
and, on the unauthenticated loopback default, requests addressed to another host name."""

from __future__ import annotations

import json

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
