"""Errors the request graph raises for its callers to answer (serving maps them to HTTP)."""

from __future__ import annotations


class RetrievalUnavailable(Exception):
    """The knowledge base (Milvus) did not answer in time or failed: the request cannot be
    answered from the documents."""


class PromptTooLong(Exception):
    """The prompt railyard built (the client's messages, the system prompt, the retrieved
    passages) plus the completion asked for does not fit the first route's context window.
    Refused before any model is called: the fallback is never paid to absorb it."""

    def __init__(self, tokens: int, max_tokens: int, limit: int) -> None:
        self.tokens, self.max_tokens, self.limit = tokens, max_tokens, limit
        super().__init__(
            f"This model's maximum context length is {limit} tokens. However, the prompt is "
            f"{tokens} tokens (your messages, the system prompt and the retrieved passages) and "
            f"max_tokens asks for {max_tokens} more. Shorten the messages or lower max_tokens."
        )


class ModelRefused(Exception):
    """The model server refused the request itself (an HTTP 4xx other than too long for the
    window or too many requests: a bad key, an unknown model name, a malformed request). The
    same request would be refused again: the fallback is never paid to take it over."""
