"""API keys, rate limits and the request timeout on a real `railyard serve` (local model behind
the fault proxy): 401 without a valid key, 429 with Retry-After over a key's requests or tokens
per minute, 504 when a request outlives RAILYARD_REQUEST_TIMEOUT_S; all in OpenAI's envelope,
and through the official client's own error types."""

from __future__ import annotations

import json
import subprocess
import time

import httpx
import openai
import pytest

from serving.access.keys import add_key
from tests.conftest import KB_QUESTION, serve, set_fault
from tests.support.processes import BIN, clean_env


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("keys") / "keys.yaml"
    return {
        "path": path,
        "limited": add_key(path, "payroll-bot", user="alice", rpm=3),
        "small": add_key(path, "tiny-bot", tpm=200),
        "free": add_key(path, "search-bot"),
        "admin": add_key(path, "platform", admin=True),
    }


@pytest.fixture(scope="module")
def limited_gateway(run_dir, local_proxy, fallback_server, knowledge_base, keys):
    server = serve(
        "limited-gateway", run_dir, fallback_server, knowledge_base,
        local_base_url=local_proxy.url + "/v1", api_keys_file=str(keys["path"]),
        request_timeout_s="4", rails_enabled="false",
    )  # fmt: skip
    server.data_dir = run_dir / "limited-gateway"
    # Ready, not just up: the knowledge base is indexed, so the first question reaches the
    # model and is priced (on /healthz alone it could meet an empty index).
    server.start().wait("/readyz", 300)
    yield server
    server.stop()


def client(server, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0)


def ask(server, key, **kwargs):
    return client(server, key).chat.completions.create(
        model="railyard", messages=KB_QUESTION, **({"max_tokens": 8} | kwargs)
    )


def test_requests_without_a_valid_key_get_401(limited_gateway):
    with pytest.raises(openai.AuthenticationError) as caught:
        ask(limited_gateway, "ry-not-a-key")
    assert caught.value.status_code == 401
    assert caught.value.body["code"] == "invalid_api_key"
    body = {"model": "railyard", "messages": KB_QUESTION, "max_tokens": 8}
    missing = httpx.post(limited_gateway.url + "/v1/chat/completions", json=body)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    assert missing.json()["error"]["code"] == "invalid_api_key"
    # The trace and feedback endpoints need a key too; /metrics and health do not.
    assert httpx.get(limited_gateway.url + "/v1/traces").status_code == 401
    assert httpx.get(limited_gateway.url + "/metrics").status_code == 200


def test_a_key_carries_its_project_and_user_into_the_trace(limited_gateway, keys):
    completion = ask(limited_gateway, keys["free"])
    trace_id = completion.model_extra["railyard"]["trace_id"]
    headers = {"Authorization": f"Bearer {keys['free']}"}
    url = f"{limited_gateway.url}/v1/traces/{trace_id}"
    deadline = time.monotonic() + 10
    while (response := httpx.get(url, headers=headers)).status_code == 404:
        assert time.monotonic() < deadline, "the trace was not stored"
        time.sleep(0.2)
    assert response.json()["project"] == "search-bot"

    # Spend per day, project and user: over HTTP (a key needed) and from the CLI.
    spend = httpx.get(f"{limited_gateway.url}/v1/spend", headers=headers, params={"days": 1})
    rows = [r for r in spend.json()["data"] if r["project"] == "search-bot"]
    assert rows and rows[0]["requests"] >= 1 and rows[0]["cost_usd"] > 0
    assert httpx.get(f"{limited_gateway.url}/v1/spend").status_code == 401
    result = subprocess.run(
        [str(BIN / "railyard"), "traces", "spend", "--days", "1", "--project", "search-bot",
         "--json"],
        env=clean_env(RAILYARD_DATA_DIR=str(limited_gateway.data_dir)),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    cli_rows = json.loads(result.stdout.strip().splitlines()[-1])
    assert {r["project"] for r in cli_rows} == {"search-bot"}
    assert sum(r["requests"] for r in cli_rows) >= 1


def test_admin_endpoints_and_api_docs_need_an_admin_key(limited_gateway, keys):
    def get(path: str, key: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.get(limited_gateway.url + path, headers=headers, timeout=30)

    for path in ("/v1/admin/ingest/runs", "/openapi.json", "/docs"):
        assert get(path, None).status_code == 401, path
        refused = get(path, keys["free"])
        assert refused.status_code == 403, path
        assert refused.json()["error"]["code"] == "permission_denied"
        assert get(path, keys["admin"]).status_code == 200, path
    ingest = httpx.post(
        limited_gateway.url + "/v1/admin/ingest", json={"paths": ["/"]},
        headers={"Authorization": f"Bearer {keys['free']}"}, timeout=30,
    )  # fmt: skip
    assert ingest.status_code == 403


def test_requests_per_minute_per_key(limited_gateway, keys):
    for _ in range(3):
        ask(limited_gateway, keys["limited"])
    with pytest.raises(openai.RateLimitError) as caught:
        ask(limited_gateway, keys["limited"])
    response = caught.value.response
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert caught.value.body["code"] == "rate_limit_exceeded"
    assert caught.value.body["type"] == "requests"
    # Another key is not limited by it.
    ask(limited_gateway, keys["free"])


def test_tokens_per_minute_per_key(limited_gateway, keys):
    with pytest.raises(openai.RateLimitError) as caught:
        ask(limited_gateway, keys["small"], max_tokens=300)
    assert caught.value.body["type"] == "tokens"
    assert "Lower max_tokens" in caught.value.body["message"]
    ask(limited_gateway, keys["small"], max_tokens=8)


def test_a_request_past_the_timeout_gets_504(limited_gateway, local_proxy, keys):
    set_fault(local_proxy, "hang", delay_s=20)
    try:
        start = time.monotonic()
        for stream in (False, True):
            response = httpx.post(
                limited_gateway.url + "/v1/chat/completions",
                headers={"Authorization": f"Bearer {keys['free']}"},
                json={"model": "railyard", "messages": KB_QUESTION, "max_tokens": 8,
                      "stream": stream},
                timeout=30,
            )  # fmt: skip
            assert response.status_code == 504
            assert response.json()["error"]["code"] == "request_timeout"
        assert time.monotonic() - start < 15
    finally:
        set_fault(local_proxy)
