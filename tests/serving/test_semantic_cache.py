"""The semantic cache through the real endpoint (guarded gateway): a paraphrase of an
answered question comes from the cache (route `cache`, no tokens, no cost) and still passes the
output rails; streams too; re-ingestion invalidates it; metrics count hits."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.serving.observability.test_observability import metric, trace_of

QUESTION = "How much sick leave do employees earn every pay period?"
PARAPHRASE = "How much sick leave does an employee earn each pay period?"


@pytest.fixture(scope="module")
def cache_gateway(served_gateway):
    # The served default: the model chooses retrieved sentences (greedy log-probabilities, so
    # deterministic), and what is cached is known.
    return served_gateway


@pytest.fixture(scope="module")
def cache_client(cache_gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=cache_gateway.url + "/v1", api_key="unused", max_retries=0)


def ask(client: openai.OpenAI, question: str):
    raw = client.chat.completions.with_raw_response.create(
        model="railyard", messages=[{"role": "user", "content": question}], max_tokens=32
    )
    completion = raw.parse()
    return raw.headers["x-railyard-trace-id"], completion, completion.model_extra["railyard"]


def test_a_paraphrase_is_answered_from_the_cache_through_the_rails(cache_gateway, cache_client):
    hits_before = metric(cache_gateway, "railyard_cache_lookups_total", result="hit")
    _, first, info = ask(cache_client, QUESTION)
    assert info["route"] == "local" and info["answer_mode"] == "selected"
    trace_id, second, cached = ask(cache_client, PARAPHRASE)
    assert cached["route"] == "cache"
    assert second.choices[0].message.content == first.choices[0].message.content
    assert second.usage.total_tokens == 0 and cached["cost_usd"] == 0.0
    assert cached["citations"] == info["citations"]
    output_rails = {v["name"] for v in cached["rails"] if v["stage"] == "output"}
    assert "check secrets on output" in output_rails  # rails still run on cached answers
    trace = trace_of(cache_gateway, trace_id)
    spans = [s["name"] for s in trace["spans"]]
    assert "cached" in spans and "output_rails" in spans and "select" not in spans
    # The first asker's words stay out of the second asker's trace (issue 15 item 11).
    assert QUESTION not in json.dumps(trace)
    assert metric(cache_gateway, "railyard_cache_lookups_total", result="hit") == hits_before + 1


def test_a_cached_answer_streams(cache_gateway, cache_client):
    _, first, _ = ask(cache_client, QUESTION)
    chunks = list(
        cache_client.chat.completions.create(
            model="railyard", messages=[{"role": "user", "content": PARAPHRASE}],
            max_tokens=32, stream=True,
        )
    )  # fmt: skip
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == first.choices[0].message.content
    assert chunks[-1].model_extra["railyard"]["route"] == "cache"


def test_an_answer_cut_by_a_stop_sequence_serves_no_request_without_it(cache_client):
    """Security review, issue 15 item 8: `stop: ["n't"]` would turn "you can't" into "you can"
    and plant it for everyone asking the same question."""
    question = "What share of the meals rate do I get on the first day of travel?"
    planted = cache_client.chat.completions.create(
        model="railyard", messages=[{"role": "user", "content": question}], max_tokens=32,
        stop=["n't"],
    )  # fmt: skip
    assert planted.model_extra["railyard"]["route"] == "local"
    assert ask(cache_client, question)[2]["route"] == "local"
    # The same parameters again do share it.
    again = cache_client.chat.completions.create(
        model="railyard", messages=[{"role": "user", "content": question}], max_tokens=32,
        stop=["n't"],
    )  # fmt: skip
    assert again.model_extra["railyard"]["route"] == "cache"


def test_reingestion_invalidates_the_cache(cache_gateway, cache_client, run_dir):
    ask(cache_client, QUESTION)
    assert ask(cache_client, PARAPHRASE)[2]["route"] == "cache"
    extra = run_dir / "incoming" / "cache-extra"  # under the gateway's ingest roots
    extra.mkdir(parents=True)
    (extra / "parking.md").write_text("# Parking\n\nVisitor parking is on level two.\n")
    response = httpx.post(
        cache_gateway.url + "/v1/admin/ingest", json={"paths": [str(extra)]}, timeout=120
    )
    response.raise_for_status()
    assert ask(cache_client, PARAPHRASE)[2]["route"] in ("local", "fallback")
