"""`railyard bench --load --workers 1,2`: the load test against `railyard serve --workers N`
for each N, one after the other, on the same machine, the same scratch index and the same
vLLM, so throughput and p95 sit side by side. Each N runs as the real command (a child
process), with a throwaway `redis-server` (Debian's package) for the counters the workers
share, or the Redis given."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml
from pydantic import SecretStr

from lab.bench.gateway import free_port, running_local_url
from lab.bench.load import SERVED, measure
from lab.harness import scratch_settings
from lab.jsonl import questions as read_questions
from serving.settings import Settings


@contextlib.contextmanager
def redis_for_bench(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    if shutil.which("redis-server") is None:
        raise SystemExit("bench --workers: give --redis-url, or install redis-server (apt)")
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(0.5)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def settings_file(settings: Settings, path: Path) -> None:
    """`settings` as a railyard.yaml the child reads from its own directory: paths made
    absolute, secrets included (the file is the child's own, in a private temporary dir)."""
    dumped = settings.model_dump(mode="json")
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            dumped[name] = value.get_secret_value()
        elif isinstance(value, Path):
            dumped[name] = str(value.resolve())
        elif isinstance(value, list | tuple) and value and isinstance(value[0], Path):
            dumped[name] = [str(p.resolve()) for p in value]
    path.write_text(yaml.safe_dump(dumped))
    path.chmod(0o600)


@contextlib.contextmanager
def serve_workers(settings: Settings, workers: int, log: Path) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="railyard-workers-") as home:
        settings_file(settings, Path(home) / "railyard.yaml")
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAILYARD_")}
        command = [sys.executable, "-m", "serving.cli", "serve", "--workers", str(workers)]
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                command, cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        url = f"http://127.0.0.1:{settings.port}"
        try:
            deadline = time.monotonic() + settings.local_start_timeout_s + 600
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"serve --workers {workers} exited; see {log}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"serve --workers {workers} not ready; see {log}")
                time.sleep(1)
            yield url
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 15)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()


def run(
    settings: Settings,
    qa_file: Path,
    corpus: Path,
    counts: list[int],
    *,
    redis_url: str | None = None,
    limit: int = 40,
    concurrency: int = 8,
    requests: int = 200,
    duration_s: float = 60,
    max_tokens: int = 64,
) -> dict[str, Any]:
    questions = read_questions(qa_file, limit)
    results: dict[str, Any] = {}
    with redis_for_bench(redis_url) as redis, scratch_settings(settings, corpus) as scratch:
        for n in counts:
            served = scratch.model_copy(
                update={
                    "port": free_port(),
                    "local_base_url": running_local_url(settings) or settings.local_base_url,
                    "redis_url": redis, **SERVED,
                }
            )  # fmt: skip
            log = scratch.data_dir / f"serve-workers-{n}.log"
            with serve_workers(served, n, log) as url:
                results[str(n)] = asyncio.run(
                    measure(url, questions, concurrency, requests, duration_s, max_tokens)
                )
    return {
        "workers": results,
        "concurrency": concurrency,
        "questions": len(questions),
        "cpus": os.cpu_count(),
        "rate_limits": "off (one client address)",
    }
