"""Scoring text by the local model's log-probabilities, for select answers: /v1/completions
with echo and logprobs through the router's scoring group, one request per pair (vLLM batches
them). No fallback: a model other than the one serving would score on another scale."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any

from graph.protocols import Generation, ScoreRequest, Scores, Usage
from serving.llm.routes import LOCAL, SCORE


class LocalScorer:
    def __init__(
        self, router: Any, urls: list[str], timeout_s: float, price: Callable[[Usage], float]
    ) -> None:
        self.router, self.urls, self.timeout_s, self.price = router, urls, timeout_s, price
        self._clients: tuple[asyncio.AbstractEventLoop, list[Any]] | None = None
        self._turn = itertools.count()

    async def score(self, request: ScoreRequest, request_id: str) -> Scores:
        """Mean log-probability of each continuation after its prefix."""
        start = time.perf_counter()
        results = await asyncio.gather(
            *(self._score_one(prefix, rest, request_id) for prefix, rest in request.pairs)
        )
        usage = Usage(sum(count for _, count, _ in results), len(results))
        generation = Generation(
            text="",
            finish_reason="stop",
            route=LOCAL,
            model=results[0][2] if results else "",
            usage=usage,
            cost_usd=self.price(usage),
            latency_s=time.perf_counter() - start,
        )
        means = [_mean(tokens) for tokens, _, _ in results]
        return Scores(means, [tokens for tokens, _, _ in results], generation)

    def _client(self):
        """A scoring HTTP client of the running event loop (a client's connections belong
        to the loop that opened them), one per local server, taken in turn."""
        loop = asyncio.get_running_loop()
        if self._clients is None or self._clients[0] is not loop:
            import openai

            clients = [
                openai.AsyncOpenAI(
                    base_url=url,
                    api_key="not-needed",  # pragma: allowlist secret
                    timeout=self.timeout_s,
                    max_retries=0,
                )
                for url in self.urls
            ]
            self._clients = (loop, clients)
        clients = self._clients[1]
        return clients[next(self._turn) % len(clients)]

    async def _score_one(
        self, prefix: str, rest: str, request_id: str
    ) -> tuple[list[tuple[str, float]], int, str]:
        response = await self.router.atext_completion(
            model=SCORE,
            prompt=prefix + rest,
            echo=True,
            logprobs=0,
            max_tokens=1,
            temperature=0.0,
            metadata={"railyard_request_id": request_id},
            # One client for every scoring call: LiteLLM would open (and leak) an HTTP
            # session per text completion.
            client=self._client(),
        )
        logprobs = response.choices[0].logprobs
        names, offsets = logprobs.tokens or [], logprobs.text_offset or []
        # vLLM counts the text of a leading special token (Gemma's "<bos>") in the offsets.
        shift = offsets[1] if len(names) > 1 and not (prefix + rest).startswith(names[0]) else 0
        end = len(prefix) + len(rest)
        # The continuation's tokens: those starting inside it (the echo also returns the one
        # token generated after the prompt, past its end).
        tokens = [
            (token, value)
            for token, offset, value in zip(
                names, offsets, logprobs.token_logprobs or [], strict=False
            )
            if len(prefix) <= offset - shift < end and value is not None
        ]
        return tokens, response.usage.prompt_tokens, response.model or ""


def _mean(tokens: list[tuple[str, float]]) -> float:
    return sum(v for _, v in tokens) / len(tokens) if tokens else float("-inf")
