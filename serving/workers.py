"""`railyard serve --workers N`: N gateway processes on one port (uvicorn's process manager),
sharing what one process would own alone.

- The local model: one vLLM server for all of them, kept alive by this (the parent) process,
  as `serve` does; the workers reach it as RAILYARD_LOCAL_BASE_URL.
- The embedded index: milvus-lite's data dir has one owner process, so this process starts
  `milvus-lite server` on the same data dir and the workers connect to it by URI; the manifest
  and the ingestion lock stay files in the data dir, which processes on one machine share.
- Traces, feedback and threads: SQLite (WAL) takes writers from several processes, or the
  shared Postgres when RAILYARD_DATABASE_URL is set.
- Rate limits, budgets and the answer cache are counted in Redis: RAILYARD_REDIS_URL is
  required, or each worker would count alone and a caller would get N times its limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from serving.errors import ConfigError
from serving.knowledge import ingest_config
from serving.settings import Settings

log = logging.getLogger("railyard")


def check(settings: Settings, workers: int) -> None:
    if workers > 1 and not settings.redis_url:
        raise ConfigError(
            f"--workers {workers} needs RAILYARD_REDIS_URL: rate limits, budgets and the answer "
            "cache are per process otherwise, so a caller would get "
            f"{workers} times its limit. Start a Redis (apt-get install redis-server) and set "
            "RAILYARD_REDIS_URL=redis://127.0.0.1:6379/0."
        )


@contextlib.contextmanager
def shared_parts(settings: Settings) -> Iterator[dict[str, str]]:
    """Start what the workers share; yields the settings (as environment) they need."""
    env: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        if settings.milvus_uri is None:
            env["RAILYARD_MILVUS_URI"] = stack.enter_context(milvus_lite_server(settings))
        if settings.managed_local:
            stack.enter_context(local_model(settings))
            env["RAILYARD_LOCAL_BASE_URL"] = settings.local_urls[0]
        yield env


@contextlib.contextmanager
def milvus_lite_server(settings: Settings, timeout_s: float = 120) -> Iterator[str]:
    """`milvus-lite server` on the data dir `serve` would open embedded; its URI."""
    data = Path(ingest_config(settings).uri)
    data.parent.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    binary = shutil.which("milvus-lite", path=str(Path(sys.executable).parent)) or "milvus-lite"
    logs = open(data.parent / "milvus-server.log", "ab")
    proc = subprocess.Popen(
        [binary, "server", "--data-dir", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=logs, stderr=logs,  # in this process group: it ends with the gateway
    )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout_s
        while not _listening(port):
            if proc.poll() is not None:
                raise ConfigError(
                    f"milvus-lite server exited ({proc.returncode}); see "
                    f"{data.parent / 'milvus-server.log'}"
                )
            if time.monotonic() > deadline:
                raise ConfigError(f"milvus-lite server did not listen within {timeout_s:.0f} s")
            time.sleep(0.2)
        log.info("milvus-lite server on 127.0.0.1:%d serves %s to the workers", port, data)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        logs.close()


@contextlib.contextmanager
def local_model(settings: Settings) -> Iterator[None]:
    """The vLLM supervisor `serve` runs in its event loop, here on a thread of its own (the
    main thread belongs to uvicorn's process manager)."""
    from serving.local_model.supervisor import LocalModelSupervisor

    stop = threading.Event()

    async def supervise() -> None:
        supervisor = LocalModelSupervisor(settings)
        supervisor.start()
        await asyncio.to_thread(stop.wait)
        await supervisor.stop()

    thread = threading.Thread(target=asyncio.run, args=(supervise(),), name="vllm-supervisor")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0
