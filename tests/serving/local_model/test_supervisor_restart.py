"""`railyard serve` notices a dead vLLM, keeps answering through the fallback meanwhile (a
stream the dead server broke is taken over by the fallback), and restarts it; traffic returns to
the local model once it answers again."""

from __future__ import annotations

import asyncio
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


async def _load(client: openai.AsyncOpenAI, stop: asyncio.Event, results: list) -> None:
    """One streaming client asking again and again until stopped."""
    while not stop.is_set():
        try:
            stream = await client.chat.completions.create(
                model="railyard", messages=QUESTION, max_tokens=24, stream=True,
                stream_options={"include_usage": True},
            )  # fmt: skip
            text, info = "", {}
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    text += chunk.choices[0].delta.content
                info = (chunk.model_extra or {}).get("railyard") or info
            results.append({"ok": bool(text) and bool(info), "route": info.get("route"),
                            "at": time.monotonic()})  # fmt: skip
        except Exception as e:
            results.append({"ok": False, "error": repr(e), "at": time.monotonic()})


@pytest.mark.disruptive
async def test_vllm_killed_under_load_loses_no_request_and_traffic_returns_to_local(
    gateway, async_client: openai.AsyncOpenAI
):
    results: list[dict] = []
    stop = asyncio.Event()
    workers = [asyncio.create_task(_load(async_client, stop, results)) for _ in range(6)]
    await asyncio.sleep(8)
    old = vllm_process(gateway)
    killed_at = time.monotonic()
    os.killpg(old.pid, signal.SIGKILL)
    await asyncio.sleep(12)
    stop.set()
    await asyncio.gather(*workers)

    failed = [r for r in results if not r["ok"]]
    assert not failed, failed
    assert any(r["at"] < killed_at and r["route"] == "local" for r in results)
    after_kill = [r["route"] for r in results if r["at"] > killed_at + 1]
    assert after_kill and set(after_kill) == {"fallback"}, after_kill

    await asyncio.to_thread(wait_ready, gateway, True, 600)
    assert vllm_process(gateway).pid != old.pid
    recovered = time.time()
    deadline = time.monotonic() + 120  # the router's cooldown on the local route must pass
    while time.monotonic() < deadline:
        after = await async_client.chat.completions.create(
            model="railyard", messages=QUESTION, max_tokens=8
        )
        if after.model_extra["railyard"]["route"] == "local":
            break
        await asyncio.sleep(3)
    else:
        pytest.fail("traffic did not return to the local model")
    # The return to local is in the traces, as operators would see it.
    trace_id = after.model_extra["railyard"]["trace_id"]
    params = {"route": "local", "since_s": time.time() - recovered + 5}
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        for _ in range(50):
            listed = (await http.get("/v1/traces", params=params)).json()["data"]
            if any(t["trace_id"] == trace_id for t in listed):
                return
            await asyncio.sleep(0.2)
    pytest.fail("the local answer after recovery is not in the traces")
