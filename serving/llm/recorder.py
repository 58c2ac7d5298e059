"""What railyard sent upstream, recorded for the bench: it replays each request's final
prompt against the bare model (lab/bench/gateway.py)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Any

from serving import offline

offline.apply_defaults()  # litellm reads its cost-map switch at import time

import litellm  # noqa: E402
from litellm.integrations.custom_logger import CustomLogger  # noqa: E402


class PromptLog(CustomLogger):
    """The messages and stop sequences railyard sent upstream, by request id (see
    `recording_prompts`)."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: dict[str, dict[str, Any]] = {}

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        metadata = (kwargs.get("litellm_params") or {}).get("metadata") or {}
        request_id = metadata.get("railyard_request_id")
        if request_id:
            params = kwargs.get("optional_params") or {}
            self.requests[request_id] = {"messages": kwargs["messages"], "stop": params.get("stop")}

    async def wait_for(self, request_id: str, timeout_s: float = 5.0) -> dict | None:
        deadline = time.monotonic() + timeout_s
        # Logged on the gateway's event loop (another thread): poll rather than share an Event.
        while request_id not in self.requests and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        return self.requests.get(request_id)


@contextlib.contextmanager
def recording_prompts() -> Iterator[PromptLog]:
    """Record what every routed chat request sent upstream while the block runs: benchmarks
    replay the same final prompt against the bare model."""
    log = PromptLog()
    litellm.callbacks.append(log)
    try:
        yield log
    finally:
        litellm.callbacks.remove(log)
