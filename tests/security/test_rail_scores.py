"""Rail scores are no oracle (security review, issue 15 item 10): a client does not see how
close its message came to a rail's threshold; the score is in the trace, for the operator."""

from __future__ import annotations

import httpx
import openai

from tests.support.streams import stream_chat


def test_an_allowed_message_does_not_learn_its_injection_score(
    guarded_client: openai.OpenAI, guarded_gateway
):
    question = "Please disregard the earlier part: how many vacation days do I get?"
    completion = guarded_client.chat.completions.create(
        model="railyard", messages=[{"role": "user", "content": question}], max_tokens=16
    )
    info = completion.model_extra["railyard"]
    verdicts = {v["name"]: v for v in info["rails"]}
    assert verdicts["check injection"]["decision"] == "allow"
    assert all("score" not in v for v in info["rails"])
    chunks, _ = stream_chat(guarded_client, [{"role": "user", "content": question}], 16)
    streamed = chunks[-1].model_extra["railyard"]
    assert streamed["rails"] and all("score" not in v for v in streamed["rails"])
    trace = httpx.get(f"{guarded_gateway.url}/v1/traces/{info['trace_id']}", timeout=30).json()
    injection = next(v for v in trace["rails"] if v["name"] == "check injection")
    assert 0 <= injection["score"] < 1
