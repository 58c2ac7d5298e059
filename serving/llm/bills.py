"""What each stream through the router was billed, kept a minute by request id, so the chat
service can charge and trace a request whose client hung up mid-stream (the graph that would
have reported it is no longer read). `abandon` tells a running stream its client is gone: it
stops at its next chunk, and what was generated is billed all the same."""

from __future__ import annotations

import asyncio
import logging
import time

from graph.protocols import Generation

log = logging.getLogger(__name__)
KEEP_S = 60.0
"""How long a bill is kept for the chat service to read."""
LEFT_S = 600.0
"""How long an abandoned request id is remembered."""


class StreamBills:
    def __init__(self) -> None:
        self._bills: dict[str, asyncio.Future[Generation]] = {}
        self._left: dict[str, float] = {}
        """Requests whose client has gone, by when."""

    def keep(self, request_id: str, bill: asyncio.Future[Generation]) -> None:
        """A stream's bill: a finished one, or a task still counting a stream cut short."""
        loop = asyncio.get_running_loop()
        self._bills[request_id] = bill
        bill.add_done_callback(lambda _: loop.call_later(KEEP_S, self._bills.pop, request_id, None))

    def settled(self, request_id: str, generation: Generation) -> None:
        bill = asyncio.get_running_loop().create_future()
        bill.set_result(generation)
        self.keep(request_id, bill)

    def abandon(self, request_id: str) -> None:
        """The client of this request has gone: its stream stops at the next chunk. The graph's
        node may run on (LangGraph does not always cancel it when its consumer goes), so the
        stream is told, not cancelled."""
        now = time.monotonic()
        self._left = {r: t for r, t in self._left.items() if now - t < LEFT_S} | {request_id: now}

    def left(self, request_id: str) -> bool:
        return request_id in self._left

    async def billed(self, request_id: str, wait_s: float = 3.0) -> Generation | None:
        """What a stream was billed for, run to its end or cut short when its client left;
        None when no stream of that id started within `wait_s` (a stream told to stop bills
        at its next chunk, a moment later)."""
        deadline = time.monotonic() + wait_s
        while (bill := self._bills.pop(request_id, None)) is None:
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(0.05)
        try:
            return await bill
        except Exception:
            log.exception("billing the stream %s its client left failed", request_id)
            return None
