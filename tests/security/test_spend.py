"""Spend stays bounded (security review, issue 15 item 4): a prompt longer than the local model's
context window is refused with OpenAI's 400 `context_length_exceeded` before any model is called,
instead of failing on vLLM and being paid for on the fallback, every time; and a gateway started
with no rate-limit settings still limits each caller."""

from __future__ import annotations

import httpx
import openai
import pytest

from serving.settings import Settings

MARKER = "window-marker-51c2"


@pytest.mark.parametrize(
    "filler",
    [
        # ~ 20 kB of prose: refused by its length alone, before the rails spend CPU on it.
        " ".join(["The travel policy covers lodging, meals and incidental expenses."] * 300),
        # ~ 14 kB that the model's tokenizer counts at ~10,000 tokens (digits are tokens).
        " ".join(f"id{i}" for i in range(2200)),
    ],
    ids=["by-length", "by-tokenizer"],
)
def test_a_prompt_over_the_local_window_is_a_400_and_never_reaches_the_fallback(
    guarded_client, fallback_server, filler
):
    question = f"{filler} ({MARKER}) How much sick leave do employees earn every pay period?"
    with pytest.raises(openai.BadRequestError) as caught:
        guarded_client.chat.completions.create(
            model="railyard", messages=[{"role": "user", "content": question}], max_tokens=64
        )
    assert caught.value.code == "context_length_exceeded"
    assert caught.value.param == "messages"
    assert "maximum context length is 2048 tokens" in caught.value.message
    received = httpx.get(fallback_server.url + "/_requests", timeout=10).json()["data"]
    assert not [body for body in received if MARKER in str(body)]


def test_rate_limits_are_on_by_default():
    settings = Settings(_env_file=None)
    assert settings.rate_limit_rpm is not None and settings.rate_limit_tpm is not None
