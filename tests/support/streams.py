"""Collect a streamed chat completion with the official client."""

from __future__ import annotations

import openai


def stream_chat(client: openai.OpenAI, messages: list[dict], max_tokens: int) -> tuple[list, str]:
    """All chunks of a stream that asks for usage, and the text they carry."""
    chunks = list(
        client.chat.completions.create(
            model="railyard",
            messages=messages,
            max_tokens=max_tokens,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    return chunks, "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
