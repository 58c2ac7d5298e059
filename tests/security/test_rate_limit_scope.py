"""Rate limits cover every endpoint and cannot be dodged or used to exhaust memory (security
review, issue 15 item 13): the limiter's map stays bounded and is not filled when limits are
off; the endpoints other than chat count against a bucket of their own; X-Forwarded-For names
the client only when it comes from a configured proxy."""

from __future__ import annotations

import httpx
import pytest

from serving.access import limits
from serving.access.limits import RateLimiter
from serving.settings import Settings
from tests.conftest import serve


def test_unlimited_callers_are_not_remembered():
    limiter = RateLimiter(None, None)
    for i in range(1000):
        limiter.admit(f"addr:10.0.{i // 256}.{i % 256}", 10)
    assert len(limiter) == 0


def test_the_map_of_callers_stays_bounded(monkeypatch):
    monkeypatch.setattr(limits, "MAX_CALLERS", 1000)
    now = [0.0]
    limiter = RateLimiter(rpm=5, tpm=None, clock=lambda: now[0])
    for i in range(5000):  # one request each from 5,000 addresses, spread over ten minutes
        now[0] = i * 0.12
        limiter.admit(f"addr:{i}", 1)
    assert len(limiter) <= 1000
    # A caller seen just now is still limited.
    for _ in range(4):
        limiter.admit("addr:4999", 1)
    with pytest.raises(limits.RateLimited):
        limiter.admit("addr:4999", 1)


def test_by_default_forwarded_headers_are_not_trusted():
    assert Settings(_env_file=None).trusted_proxies == []


@pytest.fixture(scope="module")
def proxied_gateway(run_dir, vllm_url, fallback_server, knowledge_base):
    server = serve(
        "proxied-gateway", run_dir, fallback_server, knowledge_base, local_base_url=vllm_url,
        rails_enabled="false", rate_limit_rpm="3", trusted_proxies='["127.0.0.1"]',
    )  # fmt: skip
    server.start().wait("/healthz", 300)
    yield server
    server.stop()


def test_a_trusted_proxys_client_address_is_limited_on_every_endpoint(proxied_gateway):
    def models(client: str) -> httpx.Response:
        headers = {"X-Forwarded-For": client}
        return httpx.get(proxied_gateway.url + "/v1/models", headers=headers, timeout=30)

    for _ in range(3):
        assert models("203.0.113.7").status_code == 200
    limited = models("203.0.113.7")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert int(limited.headers["Retry-After"]) >= 1
    # Another client behind the same proxy has its own budget.
    assert models("203.0.113.8").status_code == 200
