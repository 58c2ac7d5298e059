"""PII never leaves the machine unmasked (security review, issue 15 item 3): with the fallback
answering, what the fallback server receives carries placeholders, not the values, in the
client's system prompt, earlier user and assistant turns, the last question and the `user`
field."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.conftest import serve

VALUES = {
    "system": "ops-lead@example.com",
    "assistant": "202-555-0143",
    "earlier": "jane.roe@example.com",
    "question": "sam.poe@example.com",
    "user": "billing-owner@example.com",
}


@pytest.fixture(scope="module")
def api_only(run_dir, vllm_url, fallback_server, knowledge_base):
    server = serve(
        "pii-api-only", run_dir, fallback_server, knowledge_base,
        local_base_url=vllm_url, routing_mode="api-only",
    )  # fmt: skip
    server.start().wait("/readyz", 300)
    yield server
    server.stop()


def test_the_fallback_receives_placeholders_on_every_role(api_only, fallback_server):
    client = openai.OpenAI(base_url=api_only.url + "/v1", api_key="unused", max_retries=0)
    marker = "pii-marker-7f3a"
    messages = [
        {"role": "system", "content": f"Escalate to {VALUES['system']} when unsure."},
        {"role": "user", "content": f"I am {VALUES['earlier']}. Hello."},
        {"role": "assistant", "content": f"Hello! I can call you on {VALUES['assistant']}."},
        {
            "role": "user",
            "content": f"How much sick leave do employees earn every pay period? Reply to "
            f"{VALUES['question']} "
            f"({marker}).",
        },
    ]
    completion = client.chat.completions.create(
        model="railyard", messages=messages, max_tokens=64, user=VALUES["user"]
    )
    # The stand-in's echo is not grounded in the documents, so the output rails may refuse it;
    # what matters here is what left the machine.
    assert completion.model_extra["railyard"]["route"] in ("fallback", "blocked")
    received = httpx.get(fallback_server.url + "/_requests", timeout=10).json()["data"]
    sent = [body for body in received if marker in str(body.get("messages"))]
    assert sent, "the request never reached the fallback"
    for body in sent:
        for name, value in VALUES.items():
            assert value not in str(body), f"{name} value reached the fallback: {value}"
        assert "<EMAIL_ADDRESS_" in str(body["messages"])
        assert body.get("user", "").startswith("<EMAIL_ADDRESS_")


def test_names_and_places_are_masked_for_the_fallback_alone(api_only, fallback_server):
    """Issue 28: names and places (spaCy's NER through Presidio) in the conversation are masked
    in what the paid fallback receives, and put back in the answer the client reads."""
    client = openai.OpenAI(base_url=api_only.url + "/v1", api_key="unused", max_retries=0)
    marker = "ner-marker-2b9c"
    question = (
        "My manager Priya Raman asked me: how much sick leave do employees earn every pay "
        f"period? I work from Lisbon. ({marker})"
    )
    completion = client.chat.completions.create(
        model="railyard", messages=[{"role": "user", "content": question}], max_tokens=64
    )
    received = httpx.get(fallback_server.url + "/_requests", timeout=10).json()["data"]
    sent = [str(body["messages"]) for body in received if marker in str(body.get("messages"))]
    assert sent, "the request never reached the fallback"
    for body in sent:
        assert "Priya" not in body and "Lisbon" not in body
        assert "<PERSON_1>" in body and "<LOCATION_1>" in body
    assert "<PERSON_" not in completion.choices[0].message.content
