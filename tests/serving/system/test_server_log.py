"""The server log a person reads (issue 29): one INFO line per request, with the trace id, route,
outcome and latency for a chat completion, probes out of it, and none of the libraries' noise
(milvus-lite's unimplemented gRPC method, LangGraph's durability warning, gRPC GOAWAYs)."""

from __future__ import annotations

import httpx
import openai

NOISE = ("Traceback", "durability", "too_many_pings")
STARTUP_NOISE = ("Method not implemented", "faiss.loader")


def test_each_request_is_one_line_and_the_log_holds_no_library_noise(gateway):
    start = gateway.log.stat().st_size
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0)
    question = [{"role": "user", "content": "How much sick leave do employees earn?"}]
    answered = client.chat.completions.with_raw_response.create(
        model="railyard", messages=question, max_tokens=8
    )
    with client.chat.completions.with_streaming_response.create(
        model="railyard", messages=question, max_tokens=8, stream=True
    ) as streamed:
        list(streamed.iter_lines())
    traces = [r.headers["X-Railyard-Trace-Id"] for r in (answered, streamed)]
    assert httpx.get(gateway.url + "/v1/models", timeout=10).status_code == 200
    assert httpx.get(gateway.url + "/healthz", timeout=10).status_code == 200
    bad = httpx.post(gateway.url + "/v1/chat/completions", json={"model": "railyard"}, timeout=10)
    assert bad.status_code == 400

    with open(gateway.log, "rb") as log:
        log.seek(start)
        lines = log.read().decode(errors="replace").splitlines()
    for trace in traces:
        about = [line for line in lines if trace in line]
        assert len(about) == 1, about
        assert "route=" in about[0] and "outcome=" in about[0] and " ms " in about[0]
    assert [line for line in lines if "GET /v1/models 200" in line]
    assert [line for line in lines if "POST /v1/chat/completions 400" in line]
    assert not [line for line in lines if "/healthz" in line]  # probes log at DEBUG
    assert not [line for line in lines if any(noise in line for noise in NOISE)]
    whole = gateway.log.read_text(errors="replace")
    assert not [noise for noise in STARTUP_NOISE if noise in whole]
