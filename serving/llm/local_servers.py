"""What railyard asks the local vLLM servers directly, beside LiteLLM: health, and token counts
(vLLM's /tokenize, the served model's own tokenizer and chat template). The pool's servers share
one model, so any that answers counts for all."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from graph.errors import PromptTooLong

log = logging.getLogger(__name__)
TEMPLATE_TOKENS = 64
"""Room for the chat template's tokens when a prompt is judged short enough by its length."""


class LocalServers:
    def __init__(self, urls: list[str], served_name: str, timeout_s: float) -> None:
        self.urls = urls
        self.served_name = served_name
        self.timeout_s = timeout_s

    @staticmethod
    def _root(url: str) -> str:
        return url.removesuffix("/").removesuffix("/v1")

    async def tokenize(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """vLLM's /tokenize answer ({count, max_model_len, tokens}) from the first server that
        gives one; None when none does."""
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            for base in self.urls:
                url = self._root(base) + "/tokenize"
                try:
                    return (await client.post(url, json=body)).raise_for_status().json()
                except (httpx.HTTPError, ValueError) as e:
                    log.warning("could not count tokens at %s: %s", url, e)
        return None

    async def count_prompt(self, messages: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The prompt's tokens as the server bills them: the chat template applied."""
        return await self.tokenize({"model": self.served_name, "messages": messages})

    async def check_window(
        self, messages: list[dict[str, Any]], max_tokens: int, window: int
    ) -> None:
        """Raise PromptTooLong when the prompt and max_tokens overflow the local model's
        context window: vLLM would refuse it and the router would hand it to the paid fallback,
        for every such request. A prompt of fewer UTF-8 bytes than the window has room for
        cannot overflow (a token covers at least one byte; a character can be four tokens: a
        rare CJK character falls back to its bytes), so only longer ones are tokenized, by the
        server itself (vLLM's /tokenize, with the chat template applied)."""
        size = sum(len(str(m.get("content") or "").encode()) for m in messages)
        if size + max_tokens + TEMPLATE_TOKENS <= window:
            return
        counted = await self.count_prompt(messages)
        if counted is None:
            # No count (no local server answers): routing decides, as for any local failure.
            return
        window = counted.get("max_model_len") or window
        if counted["count"] + max_tokens > window:
            raise PromptTooLong(counted["count"], max_tokens, window)

    async def count_text(self, text: str) -> int | None:
        """Tokens of generated text (no special tokens added)."""
        if not text:
            return 0
        counted = await self.tokenize(
            {"model": self.served_name, "prompt": text, "add_special_tokens": False}
        )
        return None if counted is None else int(counted["count"])

    async def health(self) -> list[bool]:
        """Which servers answer /health, in order."""

        async def up(client: httpx.AsyncClient, url: str) -> bool:
            try:
                return (await client.get(self._root(url) + "/health")).status_code == 200
            except httpx.HTTPError:
                return False

        async with httpx.AsyncClient(timeout=2) as client:
            return list(await asyncio.gather(*(up(client, url) for url in self.urls)))
