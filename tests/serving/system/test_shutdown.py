"""Graceful shutdown: SIGTERM while a stream is in flight lets it finish (every chunk, the
final `railyard` object and [DONE]) before `railyard serve` exits cleanly."""

from __future__ import annotations

import json
import signal
import threading

import httpx

from tests.conftest import KB_QUESTION, serve


def test_sigterm_drains_in_flight_streams(run_dir, vllm_url, fallback_server, knowledge_base):
    gateway = serve(
        "shutdown-gateway", run_dir, fallback_server, knowledge_base, local_base_url=vllm_url,
        rails_enabled="false",
    )  # fmt: skip
    gateway.start().wait("/readyz", 300)
    events: list[str] = []
    first_text = threading.Event()

    def read_stream() -> None:
        body = {"model": "railyard", "messages": KB_QUESTION, "max_tokens": 48, "stream": True}
        with httpx.stream(
            "POST", gateway.url + "/v1/chat/completions", json=body, timeout=120
        ) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    events.append(line[6:])
                    if '"content": "' in line and '"content": ""' not in line:
                        first_text.set()

    try:
        reader = threading.Thread(target=read_stream)
        reader.start()
        assert first_text.wait(120), events
        gateway.proc.send_signal(signal.SIGTERM)
        reader.join(120)
        assert events[-1] == "[DONE]", events[-3:]
        final = json.loads(events[-2])
        assert final["railyard"]["trace_id"] and final["choices"][0]["finish_reason"]
        # uvicorn re-raises the signal once it has shut down: the exit is SIGTERM's, not a crash.
        assert gateway.proc.wait(60) in (0, -signal.SIGTERM)
    finally:
        gateway.stop()
