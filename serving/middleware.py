"""ASGI middleware: refuse request bodies over the configured size without reading them whole."""

from __future__ import annotations

import json

from serving.errors import PayloadTooLarge


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
        error = PayloadTooLarge(
            f"Request body is larger than {self.max_bytes} bytes (RAILYARD_MAX_BODY_BYTES)."
        )
        await send(
            {
                "type": "http.response.start",
                "status": error.status_code,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps(error.body()).encode()})
