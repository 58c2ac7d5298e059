"""`railyard serve` notices a dead vLLM, keeps answering through the fallback meanwhile, and
restarts it; traffic returns to the local model once it answers again."""

from __future__ import annotations

import os
import signal
import time

import httpx
import openai
import psutil
import pytest

from tests.conftest import KB_QUESTION as QUESTION


def vllm_process(gateway) -> psutil.Process:
    children = psutil.Process(gateway.proc.pid).children(recursive=True)
    servers = [p for p in children if "vllm.entrypoints.openai.api_server" in " ".join(p.cmdline())]
    assert len(servers) == 1, [p.cmdline() for p in children]
    return servers[0]


def wait_ready(gateway, ready: bool, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = httpx.get(gateway.url + "/readyz", timeout=10).status_code
        if (status == 200) == ready:
            return
        time.sleep(1)
    pytest.fail(f"/readyz did not become {'ready' if ready else 'not ready'} in {timeout} s")


@pytest.mark.disruptive
def test_killed_vllm_is_restarted(gateway, client: openai.OpenAI):
    old = vllm_process(gateway)
    os.killpg(old.pid, signal.SIGKILL)
    wait_ready(gateway, ready=False, timeout=30)

    during = client.chat.completions.create(model="railyard", messages=QUESTION, max_tokens=8)
    assert during.model_extra["railyard"]["route"] == "fallback"

    wait_ready(gateway, ready=True, timeout=600)
    assert vllm_process(gateway).pid != old.pid
    deadline = time.monotonic() + 120  # the router's cooldown on the local route must pass
    while time.monotonic() < deadline:
        after = client.chat.completions.create(model="railyard", messages=QUESTION, max_tokens=8)
        if after.model_extra["railyard"]["route"] == "local":
            return
        time.sleep(3)
    pytest.fail("traffic did not return to the local model")
