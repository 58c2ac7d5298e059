"""`railyard bench --load`: a bounded, self-stopping load test on loopback. The gateway runs in
this process (as in `railyard bench`), served as `railyard serve` would serve it (rails on,
answer cache on); N concurrent clients send requests until a request count or a duration is
reached, whichever comes first, in two phases:

- guarded: every request takes the full path (a short system message makes it uncacheable);
- cached: single questions already answered once, served from the semantic cache (rails still
  run on them).

Reported per phase: throughput, p50/p95/p99 latency, errors (any non-200 or broken request).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx

from lab.bench.gateway import bench_gateway
from lab.bench.streams import RssSampler
from lab.jsonl import questions as read_questions
from lab.progress import task
from lab.stats import percentile
from serving.settings import Settings

UNCACHEABLE = {"role": "system", "content": "Answer briefly."}
# As `railyard serve` serves by default, except: all the load comes from one address, so the
# per-caller rate limits (on by default) would measure the limiter, not the gateway; they are
# off for this bench (and the report says so).
SERVED = {
    "cache_enabled": True, "rails_enabled": True, "rate_limit_rpm": None, "rate_limit_tpm": None,
}  # fmt: skip


async def _phase(
    url: str, bodies: list[dict], concurrency: int, requests: int, duration_s: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    issued = 0
    deadline = time.monotonic() + duration_s

    async def worker(client: httpx.AsyncClient, advance) -> None:
        nonlocal issued
        while issued < requests and time.monotonic() < deadline:
            body = bodies[issued % len(bodies)]
            issued += 1
            start = time.perf_counter()
            try:
                response = await client.post("/v1/chat/completions", json=body)
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.text[:120]}")
                    continue
            except httpx.HTTPError as e:
                errors.append(repr(e))
                continue
            finally:
                advance()
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        with task(f"bench: load x{concurrency}", requests) as advance:
            await asyncio.gather(*(worker(client, advance) for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    done = len(latencies)
    return {
        "requests": done + len(errors),
        "errors": len(errors),
        "error_samples": errors[:3],
        "throughput_rps": round(done / elapsed, 2),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 1) if done else None,
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1) if done else None,
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1) if done else None,
        "seconds": round(elapsed, 1),
    }


async def measure(url, questions, concurrency, requests, duration_s, max_tokens) -> dict:
    def body(messages):
        return {"model": "railyard", "messages": messages, "max_tokens": max_tokens}

    guarded = [body([UNCACHEABLE, {"role": "user", "content": q}]) for q in questions]
    cached = [body([{"role": "user", "content": q}]) for q in questions]
    # Prime the cache: each single question answered once (not measured).
    await _phase(url, cached, concurrency, len(cached), duration_s)
    return {
        "guarded": await _phase(url, guarded, concurrency, requests, duration_s),
        "cached": await _phase(url, cached, concurrency, requests, duration_s),
    }


def run(
    settings: Settings,
    qa_file: Path,
    corpus: Path,
    *,
    limit: int = 40,
    concurrency: int = 8,
    requests: int = 200,
    duration_s: float = 60,
    max_tokens: int = 64,
) -> dict[str, Any]:
    questions = read_questions(qa_file, limit)
    with bench_gateway(settings, corpus, **SERVED) as (gateway, served), RssSampler() as rss:
        report = asyncio.run(
            measure(gateway.url, questions, concurrency, requests, duration_s, max_tokens)
        )
    return report | {
        "concurrency": concurrency,
        "questions": len(questions),
        "answers": served.answer_mode,
        "rate_limits": "off (one client address)",
        "gateway_rss_peak_mib": round(rss.peak_mib, 1),
    }
