"""The runs behind `railyard bench` (see lab/bench/streams.py): the gateway in a thread, a priming
pass that records each question's final prompt, interleaved sequential pairs, then N concurrent
streams per side."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import uvicorn

from lab.bench.streams import RssSampler, Timing, alternate, ms, stream_once
from lab.harness import scratch_settings
from lab.jsonl import questions as read_questions
from lab.progress import tracked
from serving.llm.recorder import recording_prompts
from serving.settings import Settings

TARGETS = {"latency_ratio_p50": 1.10, "ttft_diff_ms": 50.0, "concurrency_ratio": 0.9}


class GatewayThread:
    """`railyard serve`'s app, served by uvicorn on a thread of this process."""

    def __init__(self, settings: Settings) -> None:
        from serving.app import create_app

        self.app = create_app(settings)
        self.url = f"http://127.0.0.1:{settings.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=settings.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self, timeout_s: float) -> GatewayThread:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"the gateway was not ready within {timeout_s:.0f} s")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def running_local_url(settings: Settings) -> str | None:
    """An already-running vLLM to reuse (the app would launch its own otherwise)."""
    url = settings.local_url.removesuffix("/").removesuffix("/v1") + "/health"
    try:
        return settings.local_url if httpx.get(url, timeout=2).status_code == 200 else None
    except httpx.HTTPError:
        return None


@contextlib.contextmanager
def bench_gateway(
    settings: Settings, corpus: Path, **changes: Any
) -> Iterator[tuple[GatewayThread, Settings]]:
    """The gateway on a free port over its own scratch index of `corpus` (seeded on start),
    on the running vLLM when there is one; `changes` are settings for this bench."""
    with scratch_settings(settings, corpus) as scratch:
        served = scratch.model_copy(
            update={
                "port": free_port(),
                "local_base_url": running_local_url(settings) or settings.local_base_url,
                **changes,
            }
        )
        gateway = GatewayThread(served).start(settings.local_start_timeout_s + 300)
        try:
            yield gateway, served
        finally:
            gateway.stop()


def run(
    settings: Settings,
    qa_file: Path,
    corpus: Path,
    *,
    limit: int = 16,
    rounds: int = 2,
    concurrency: int = 16,
    max_tokens: int = 64,
) -> dict[str, Any]:
    questions = read_questions(qa_file, limit)
    # The model writes every answer (the bench compares generation with the bare vLLM; the
    # packaged model's default, select, scores sentences instead), no answer is cached, and
    # only the local model answers (a fallback answer would pair the API with the bare vLLM).
    serving = {
        "answer_mode": "generate", "retrieval_extractive": "never", "cache_enabled": False,
        "rails_enabled": True, "routing_mode": "local-only",
    }  # fmt: skip
    with (
        recording_prompts() as prompts,
        bench_gateway(settings, corpus, **serving) as (gateway, served),
        RssSampler() as rss,
    ):
        report = asyncio.run(
            _measure(gateway, served, questions, prompts, rounds, concurrency, max_tokens)
        )
    report["gateway_rss_peak_mib"] = round(rss.peak_mib, 1)
    # What the bench's gateway runs with that `railyard serve` does not (its report says so).
    report["settings_changed"] = {name: str(value) for name, value in serving.items()}
    report["targets"] = {
        "latency_ratio_p50<=1.10": report["latency_ratio_p50"] <= TARGETS["latency_ratio_p50"],
        "ttft_diff_ms<=50": report["ttft_checkable_diff_ms"] <= TARGETS["ttft_diff_ms"],
        "concurrency_ratio>=0.9": report["concurrency_ratio"] >= TARGETS["concurrency_ratio"],
    }
    return report


async def _prime(railyard, prompts, questions, max_tokens) -> list[tuple[list, dict, int]]:
    """Railyard's final prompt and completion length for each question (the bare vLLM is
    then sent the same prompt for as many tokens)."""
    primed = []
    for question in tracked(questions, "bench: priming"):
        messages = [{"role": "user", "content": question}]
        timing = await stream_once(railyard, "railyard", messages, max_tokens)
        sent = await prompts.wait_for(timing.trace_id or "")
        if sent and timing.completion_tokens > 0:
            primed.append((messages, sent, timing.completion_tokens))
    if not primed:
        raise RuntimeError("no question reached the model: check the knowledge base")
    return primed


async def _measure(gateway, settings, questions, prompts, rounds, concurrency, max_tokens):
    railyard = openai.AsyncOpenAI(
        base_url=f"{gateway.url}/v1", api_key="bench", max_retries=0, timeout=300
    )
    bare = openai.AsyncOpenAI(base_url=settings.local_url, api_key="bench", max_retries=0)
    # On the request path, read from the gateway's own metrics (its observer hooks): the rails
    # checks (input rails beside retrieval; output rails on each held-back sentence) and
    # building the trace (the write is queued).
    observed = _Observed(gateway.app.state.chat.observer.metrics.registry)
    primed = await _prime(railyard, prompts, questions, max_tokens)

    def ask_railyard(messages):
        return lambda: stream_once(railyard, "railyard", messages, max_tokens)

    def ask_bare(sent, tokens):
        return lambda: stream_once(
            bare, settings.local_served_name, sent["messages"], tokens, stop=sent["stop"]
        )

    pairs: list[tuple[Timing, Timing]] = []
    observed.start()  # the priming pass is warm-up
    retried: list[str] = []
    for i, (messages, sent, tokens) in tracked(enumerate(primed * rounds), "bench: pairs"):
        try:
            pair = await alternate(ask_railyard(messages), ask_bare(sent, tokens), i)
        except openai.APIError as e:
            # A transient upstream failure costs this pair one retry, and is reported.
            retried.append(f"{type(e).__name__}: {e}")
            pair = await alternate(ask_railyard(messages), ask_bare(sent, tokens), i)
        pairs.append(pair)
    took, counted = observed.since_start()
    per_request = {
        "input_rails_ms": round(took["input"] / len(pairs) * 1000, 2),
        "output_rails_ms": round(took["output"] / len(pairs) * 1000, 2),
        "tracing_ms": round(took["trace"] / max(counted["trace"], 1) * 1000, 2),
    }
    burst = [primed[i % len(primed)] for i in range(concurrency)]
    rates: dict[str, list[float]] = {"railyard": [], "vllm": []}
    for i in tracked(range(rounds), "bench: concurrent bursts"):
        a, b = await alternate(
            lambda: _concurrent([ask_railyard(m) for m, _, _ in burst]),
            lambda: _concurrent([ask_bare(s, t) for _, s, t in burst]),
            i,
        )
        rates["railyard"].append(a)
        rates["vllm"].append(b)
    traces = [p[0].trace_id for p in pairs if p[0].trace_id]
    report = _summarise(pairs, rates, concurrency, len(primed), len(questions))
    gateway.app.state.traces.flush()
    per_request["retrieval_ms"] = _retrieval_ms(gateway.app.state.traces, traces)
    return report | {"per_request": per_request, "retried_pairs": retried}


async def _concurrent(calls) -> float:
    """Aggregate completion tokens per second of the calls run at once."""
    start = time.perf_counter()
    timings = await asyncio.gather(*(call() for call in calls))
    return sum(t.completion_tokens for t in timings) / (time.perf_counter() - start)


OBSERVED = {
    "input": ("railyard_rails_check_duration_seconds", {"stage": "input"}),
    "output": ("railyard_rails_check_duration_seconds", {"stage": "output"}),
    "trace": ("railyard_trace_record_duration_seconds", {}),
}
"""What the bench reads of the gateway's metrics: histogram name and labels."""


class _Observed:
    """Seconds and counts of the gateway's own histograms since `start`."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry
        self._at_start: dict[str, tuple[float, float]] = {}

    def _now(self) -> dict[str, tuple[float, float]]:
        def value(name: str, labels: dict, part: str) -> float:
            return self.registry.get_sample_value(f"{name}_{part}", labels) or 0.0

        return {
            key: (value(name, labels, "sum"), value(name, labels, "count"))
            for key, (name, labels) in OBSERVED.items()
        }

    def start(self) -> None:
        self._at_start = self._now()

    def since_start(self) -> tuple[dict[str, float], dict[str, float]]:
        now = self._now()
        took = {key: now[key][0] - self._at_start[key][0] for key in now}
        counted = {key: now[key][1] - self._at_start[key][1] for key in now}
        return took, counted


def _summarise(pairs, rates, streams, primed, asked) -> dict[str, Any]:
    ours, theirs = [p[0] for p in pairs], [p[1] for p in pairs]
    same = sum(a.completion_tokens == b.completion_tokens for a, b in pairs)
    railyard, vllm = ms([t.total_s for t in ours]), ms([t.total_s for t in theirs])
    ttft = {
        "railyard_p50_ms": _median_ms(t.ttft_s for t in ours),
        "vllm_p50_ms": _median_ms(t.ttft_s for t in theirs),
        "vllm_checkable_p50_ms": _median_ms(t.checkable_s for t in theirs),
    }
    return {
        "questions": asked,
        "questions_reaching_model": primed,
        "pairs": len(pairs),
        "same_completion_tokens": round(same / len(pairs), 3),
        "railyard": railyard,
        "vllm": vllm,
        "latency_ratio_p50": round(railyard["p50_ms"] / vllm["p50_ms"], 3),
        "latency_ratio_p95": round(railyard["p95_ms"] / vllm["p95_ms"], 3),
        "ttft": ttft,
        "ttft_diff_ms": round(ttft["railyard_p50_ms"] - ttft["vllm_p50_ms"], 1),
        "ttft_checkable_diff_ms": round(ttft["railyard_p50_ms"] - ttft["vllm_checkable_p50_ms"], 1),
        "concurrency": {
            "streams": streams,
            "railyard_tokens_per_s": round(statistics.median(rates["railyard"]), 1),
            "vllm_tokens_per_s": round(statistics.median(rates["vllm"]), 1),
        },
        "concurrency_ratio": round(
            statistics.median(rates["railyard"]) / statistics.median(rates["vllm"]), 3
        ),
    }


def _median_ms(values) -> float:
    present = [v for v in values if v is not None]
    return round(statistics.median(present) * 1000, 1) if present else 0.0


def _retrieval_ms(store, trace_ids: list[str]) -> float:
    """Median latency of the retrieve node, from the gateway's own traces."""
    took = [
        span["latency_ms"]
        for trace in filter(None, map(store.get, trace_ids))
        for span in trace["spans"]
        if span["name"] == "retrieve"
    ]
    return round(statistics.median(took), 2) if took else 0.0
