"""A Milvus server that goes away: requests get a clear 503 (vector_store_unavailable) in
OpenAI's envelope within the retrieval timeout, streamed or not, never a hang."""

from __future__ import annotations

import signal
import socket
import time

import httpx
import pytest

from tests.conftest import KB_QUESTION, serve
from tests.support.processes import BIN, Server, clean_env, free_port


def wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    pytest.fail(f"nothing listens on {port}")


@pytest.fixture(scope="module")
def milvus(run_dir):
    port = free_port()
    argv = [str(BIN / "milvus-lite"), "server", "--data-dir", str(run_dir / "milvus-server"),
            "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    server = Server("milvus-server", argv, clean_env(), port, run_dir / "logs" / "milvus.log")
    server.start()
    wait_port(port, 60)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def store_gateway(run_dir, milvus, vllm_url, fallback_server, knowledge_base):
    server = serve(
        "store-gateway", run_dir, fallback_server, knowledge_base, local_base_url=vllm_url,
        milvus_uri=f"http://127.0.0.1:{milvus.port}", retrieval_timeout_s="3",
        rails_enabled="false",
    )  # fmt: skip
    server.start().wait("/readyz", 300)
    yield server
    server.stop()


def ask(gateway, stream: bool) -> httpx.Response:
    body = {"model": "railyard", "messages": KB_QUESTION, "max_tokens": 8, "stream": stream}
    return httpx.post(gateway.url + "/v1/chat/completions", json=body, timeout=60)


def test_milvus_down_is_a_503_not_a_hang(store_gateway, milvus):
    answered = ask(store_gateway, stream=False)
    assert answered.status_code == 200, answered.text
    assert answered.json()["railyard"]["citations"], "retrieval through the Milvus server"

    milvus.stop(signal.SIGKILL)
    for stream in (False, True):
        start = time.monotonic()
        response = ask(store_gateway, stream)
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert (
            error["code"] == "vector_store_unavailable" and error["type"] == "service_unavailable"
        )
        assert time.monotonic() - start < 15
