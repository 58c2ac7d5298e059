"""Runs vLLM as a managed child process: prepare the model, start, wait until it answers,
restart it when it dies or stops answering, and stop the whole process group on exit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from pathlib import Path

import httpx

from serving.local_model.convert import converted_dir, is_converted
from serving.local_model.launch import VLLMCommand, build_command
from serving.settings import Settings

log = logging.getLogger("railyard.vllm")


class LocalModelError(RuntimeError):
    """The local model could not be prepared or started."""


async def prepare_model(settings: Settings) -> str:
    """The model vLLM should serve; converts the packaged GGUF once (in a child process)."""
    if settings.local_model is not None:
        return settings.local_model
    models_dir = settings.resolved_models_dir
    if not is_converted(converted_dir(models_dir)):
        log.info("converting the packaged Gemma 3 270M GGUF into %s (once)", models_dir)
        # Its output goes to stderr: stdout belongs to the command (`--json` prints last there).
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "serving.local_model.convert", str(models_dir),
            stdout=2,  # this process's stderr
        )  # fmt: skip
        if await proc.wait() != 0:
            raise LocalModelError(f"model conversion failed (exit {proc.returncode})")
    return str(converted_dir(models_dir))


class LocalModelSupervisor:
    """Keeps one vLLM server alive on `settings.local_port` until `stop()`."""

    def __init__(self, settings: Settings, *, health_interval_s: float = 2.0) -> None:
        self.settings = settings
        self.health_url = f"http://127.0.0.1:{settings.local_port}/health"
        self.health_interval_s = health_interval_s
        self.state = "idle"
        self.restarts = 0
        self.pid: int | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task | None = None
        self._ready = asyncio.Event()
        self._stopping = False

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="vllm-supervisor")

    async def stop(self) -> None:
        self._stopping = True
        self.state = "stopped"
        await self._kill()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        try:
            self.state = "preparing"
            command = build_command(self.settings, await prepare_model(self.settings))
        except Exception:
            self.state = "failed"
            log.exception("cannot prepare the local model")
            return
        backoff = 1.0
        while not self._stopping:
            started = time.monotonic()
            await self._serve_once(command)
            if self._stopping:
                break
            self.restarts += 1
            # A server that died quickly is likely to die again: back off, up to a minute.
            backoff = 1.0 if time.monotonic() - started > 120 else min(backoff * 2, 60.0)
            log.warning("vLLM stopped; restart %d in %.0f s", self.restarts, backoff)
            self.state = "restarting"
            await asyncio.sleep(backoff)

    async def _serve_once(self, command: VLLMCommand) -> None:
        self.state = "starting"
        logs = self.settings.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with open(logs / "vllm.log", "ab") as out:  # noqa: ASYNC230 (opened once per start)
            self._proc = await asyncio.create_subprocess_exec(
                *command.argv,
                env=os.environ | command.env,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # own process group: vLLM has child processes
            )
        self.pid = self._proc.pid
        log.info("vLLM starting (pid %d) on port %d", self.pid, self.settings.local_port)
        failures = 0
        async with httpx.AsyncClient(timeout=10) as client:
            while self._proc.returncode is None and not self._stopping:
                healthy = await _healthy(client, self.health_url)
                if healthy and not self.ready:
                    self.state = "ready"
                    self._ready.set()
                    log.info("vLLM ready (pid %d)", self.pid)
                failures = 0 if healthy else failures + (1 if self.ready else 0)
                if failures >= 3:
                    log.warning("vLLM stopped answering /health; killing it")
                    break
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._proc.wait(), self.health_interval_s)
        self._ready.clear()
        await self._kill()

    async def _kill(self) -> None:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()


async def _healthy(client: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


def exec_foreground(settings: Settings, model: str) -> None:
    """Replace this process with vLLM (`railyard vllm`): signals reach it directly."""
    command = build_command(settings, model)
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    os.execve(command.argv[0], command.argv, os.environ | command.env)
