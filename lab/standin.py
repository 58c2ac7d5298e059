"""`railyard standin`: an OpenAI-compatible server that plays the fallback where OpenAI's API
cannot be reached (this CPU machine, CI), with fault injection.

Two roles:
- `--upstream URL`: a proxy in front of a real OpenAI-compatible server (the local vLLM), so a
  route can be made to fail (500s, hangs, a slow first token) while its answers stay the real
  model's. `railyard experiment fallback` uses it as the fallback here: railyard prices it with
  the fallback model's real prices (gpt-4o-mini), `--first-token-delay-ms` adds the API's network
  latency, and the report says the fallback was a stand-in.
- no upstream: it answers deterministically as `gpt-4o-mini` by echoing the question, counting
  tokens by whitespace (the tests' fallback).

Control: POST /_fault {"mode": "none|error|hang|slow_first_token|slow_stream|break_stream",
"delay_s": 5, "times": N, "status": 500, "after": 3} (slow_stream: delay_s between the answer's
words; status: the error's HTTP status, e.g. 400 for a request the server refuses;
break_stream: the connection drops after `after` chunks of the answer, as a dying server's does)
(times: how many requests the fault applies to; omitted = until reset); GET /_stats; GET
/_requests: the last 100 request bodies received (what left the gateway, for leak tests).
Run: railyard standin --port P [--upstream http://127.0.0.1:8001/v1] [--first-token-delay-ms N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections import deque

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


class Faults:
    def __init__(self) -> None:
        self.mode, self.delay_s, self.times, self.status = "none", 0.0, None, 500
        self.after = 3
        self.requests = 0
        self.faulted = 0

    def take(self) -> str:
        """The fault for the request now arriving."""
        self.requests += 1
        if self.mode == "none":
            return "none"
        if self.times is not None:
            if self.times <= 0:
                return "none"
            self.times -= 1
        self.faulted += 1
        return self.mode


def build_app(
    upstream: str | None,
    model: str,
    first_token_delay_s: float = 0.0,
    upstream_model: str | None = None,
) -> Starlette:
    faults = Faults()
    received: deque[dict] = deque(maxlen=100)
    client = httpx.AsyncClient(timeout=None)

    async def set_fault(request: Request) -> JSONResponse:
        body = await request.json()
        faults.mode = body.get("mode", "none")
        faults.delay_s = float(body.get("delay_s", 0))
        faults.times = body.get("times")
        faults.status = int(body.get("status", 500))
        faults.after = int(body.get("after", 3))
        return JSONResponse({"ok": True})

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse({"requests": faults.requests, "faulted": faults.faulted})

    async def requests(request: Request) -> JSONResponse:
        return JSONResponse({"data": list(received)})

    async def chat(request: Request) -> Response:
        body = await request.json()
        received.append(body)
        fault = faults.take()
        if fault == "error":
            kind = "server_error" if faults.status >= 500 else "invalid_request_error"
            error = {"message": "injected failure", "type": kind, "code": None}
            return JSONResponse({"error": error}, status_code=faults.status)
        if fault == "hang":
            await asyncio.sleep(faults.delay_s)
        first_delay = first_token_delay_s + (faults.delay_s if fault == "slow_first_token" else 0)
        broken = faults.after if fault == "break_stream" else None
        if upstream:
            body = body | ({"model": upstream_model} if upstream_model else {})
            return await _proxy(client, upstream, body, first_delay, broken)
        word_delay = faults.delay_s if fault == "slow_stream" else 0.0
        return _stand_in(body, model, first_delay, word_delay, broken)

    async def health(request: Request) -> Response:
        return Response(status_code=200)

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/_fault", set_fault, methods=["POST"]),
            Route("/_stats", stats),
            Route("/_requests", requests),
            Route("/health", health),
        ]
    )


class BrokenStream(Exception):
    """Raised mid-response: the server drops the connection without ending the stream."""


async def _proxy(
    client: httpx.AsyncClient,
    upstream: str,
    body: dict,
    first_delay: float,
    broken: int | None = None,
):
    url = upstream.rstrip("/") + "/chat/completions"
    if not body.get("stream"):
        await asyncio.sleep(first_delay)
        upstream_response = await client.post(url, json=body)
        return Response(
            upstream_response.content,
            status_code=upstream_response.status_code,
            media_type="application/json",
        )

    async def relay():
        await asyncio.sleep(first_delay)
        async with client.stream("POST", url, json=body) as response:
            async for i, line in _numbered(response.aiter_lines()):
                if broken is not None and line.strip() and i >= broken:
                    raise BrokenStream(f"dropped after {broken} chunks")
                yield (line + "\n").encode()

    return StreamingResponse(relay(), media_type="text/event-stream")


async def _numbered(lines):
    """The stream's SSE events (`data: ...` lines), counted; blank lines pass uncounted."""
    i = 0
    async for line in lines:
        yield i, line
        i += bool(line.strip())


def _stand_in(
    body: dict,
    model: str,
    first_delay: float,
    word_delay: float = 0.0,
    broken: int | None = None,
) -> Response:
    messages = body.get("messages", [])
    question = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    words = f"The fallback model answers: {question}".split()
    limit = int(body.get("max_tokens") or body.get("max_completion_tokens") or 256)
    words = words[:limit]
    finish = "length" if len(words) == limit else "stop"
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": len(words),
        "total_tokens": prompt_tokens + len(words),
    }
    base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": model}
    if not body.get("stream"):
        message = {"role": "assistant", "content": " ".join(words)}
        choice = {"index": 0, "message": message, "finish_reason": finish}
        return JSONResponse(
            base | {"object": "chat.completion", "choices": [choice], "usage": usage}
        )
    include_usage = (body.get("stream_options") or {}).get("include_usage")

    async def events():
        await asyncio.sleep(first_delay)
        chunk = base | {"object": "chat.completion.chunk"}
        for i, word in enumerate(words):
            if broken is not None and i >= broken:
                raise BrokenStream(f"dropped after {broken} chunks")
            if i and word_delay:
                await asyncio.sleep(word_delay)
            delta = {"content": (" " if i else "") + word}
            if i == 0:
                delta["role"] = "assistant"
            yield _sse(chunk | {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        yield _sse(chunk | {"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if include_usage:
            yield _sse(chunk | {"choices": [], "usage": usage})
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


def _sse(payload: dict) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def register(commands) -> None:
    standin = commands.add_parser(
        "standin",
        help="an OpenAI-compatible stand-in for the fallback, with fault injection",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _arguments(standin)
    standin.set_defaults(handler=lambda settings, args: serve(args))


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", help="proxy to this OpenAI-compatible base URL (…/v1)")
    parser.add_argument("--model", default="gpt-4o-mini", help="model name it answers as")
    parser.add_argument("--upstream-model", help="model name asked of the upstream (e.g. local)")
    parser.add_argument(
        "--first-token-delay-ms", type=float, default=0.0, help="added before every answer"
    )


def serve(args: argparse.Namespace) -> int:
    app = build_app(
        args.upstream, args.model, args.first_token_delay_ms / 1000, args.upstream_model
    )
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="railyard standin", description=__doc__)
    _arguments(parser)
    serve(parser.parse_args(argv))


if __name__ == "__main__":
    main()
