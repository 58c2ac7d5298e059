"""OpenTelemetry export (issue 18 item 5): with RAILYARD_OTLP_ENDPOINT, `guarded_gateway` (rails
on, the real vLLM) sends each request's trace and the GenAI token metric to a real OTLP/HTTP
receiver (tests/support/otlp.py): one span per graph node under the request's span, the model
call as a GenAI client span with the semantic conventions' attributes, rail verdicts as
events, all under railyard's own trace id."""

from __future__ import annotations

import time

import httpx
import openai

from tests.conftest import KB_QUESTION


def wait_for(probe, timeout_s: float = 30):
    deadline = time.monotonic() + timeout_s
    while not (found := probe()):
        assert time.monotonic() < deadline, "nothing reached the OTLP receiver"
        time.sleep(0.5)
    return found


def test_a_request_is_exported_as_otel_spans_with_genai_attributes(
    guarded_client: openai.OpenAI, guarded_gateway, otlp_receiver
):
    completion = guarded_client.chat.completions.create(
        model="railyard", messages=KB_QUESTION, max_tokens=48
    )
    trace_id = completion.model_extra["railyard"]["trace_id"]
    trace = httpx.get(f"{guarded_gateway.url}/v1/traces/{trace_id}", timeout=10).json()
    # The root is the last span to end: once it is there, the whole trace is.
    spans = wait_for(
        lambda: (
            (found := otlp_receiver.trace(trace_id))
            and any(s["name"] == "chat railyard" for s in found)
            and found
        )
    )
    [root] = [s for s in spans if s["name"] == "chat railyard"]
    assert root["kind"] == "SERVER" and root["service"] == "railyard"
    assert root["attributes"]["railyard.route"] == trace["route"]
    assert root["attributes"]["railyard.cost_usd"] == trace["cost_usd"]
    nodes = [s for s in spans if s["parent_span_id"] == root["span_id"]]
    assert sorted(s["name"] for s in nodes) == sorted(s["name"] for s in trace["spans"])
    # Rail verdicts: events on the rail nodes' spans.
    events = [e for s in nodes for e in s["events"] if e["name"] == "railyard.rail"]
    assert {e["attributes"]["railyard.rail.name"] for e in events} == {
        v["name"] for v in trace["rails"] if v.get("stage") in ("input", "output")
    }
    assert trace["model_called"]
    [call] = [s for s in spans if s["kind"] == "CLIENT"]
    parent = next(s for s in nodes if s["span_id"] == call["parent_span_id"])
    assert parent["name"] in ("generate", "select")
    attributes = call["attributes"]
    assert attributes["gen_ai.operation.name"] in ("chat", "text_completion")
    assert attributes["gen_ai.provider.name"] == "vllm"
    assert attributes["gen_ai.request.model"] and attributes["gen_ai.response.model"]
    assert attributes["gen_ai.usage.input_tokens"] == trace["usage"]["prompt_tokens"] > 0
    assert attributes["gen_ai.usage.output_tokens"] == trace["usage"]["completion_tokens"]
    assert attributes["gen_ai.response.finish_reasons"] == [trace["generation"]["finish_reason"]]
    operation, model = attributes["gen_ai.operation.name"], attributes["gen_ai.request.model"]
    assert call["name"] == f"{operation} {model}"


def test_the_token_usage_metric_is_exported(guarded_client, otlp_receiver):
    guarded_client.chat.completions.create(model="railyard", messages=KB_QUESTION, max_tokens=48)
    metrics = wait_for(lambda: otlp_receiver.metric("gen_ai.client.token.usage"))
    points = [p for m in metrics for p in m["histogram"]["dataPoints"]]
    kinds = {
        a["value"]["stringValue"]
        for p in points for a in p["attributes"] if a["key"] == "gen_ai.token.type"
    }  # fmt: skip
    assert kinds == {"input", "output"}
    assert all(int(p["count"]) >= 1 for p in points)
