"""Routing policies: which model route a request asks first, and which failures the fallback
model answers. `FallbackChatModel` (serving/llm/fallback.py) carries them out; this module only
says what each policy allows, so a policy can be replayed and compared
(`railyard experiment fallback`); `railyard serve` runs one (RAILYARD_ROUTING_MODE, default
local-first).

Failures that can send a request to the fallback (`Routing.fallback_on`):
- `error`: the local route errs, times out, stalls before its first token or refuses the
  connection (LiteLLM has tried the local pool's other servers first, with the timeouts and
  cooldown of RAILYARD_ROUTER_CONFIG).
- `broken_stream`: the local stream breaks after it started; the fallback continues the text
  the client already has.
- `rejected`: the output rails reject a local answer before any of it was sent; the fallback
  answers the same prompt, checked the same way. An unsupported answer is also escalated when
  the rails policy says so (`groundedness.on_fail: fallback`), under any policy that can reach
  the fallback.
- `unsure`: the answerability model is unsure the chosen sentences answer (below
  RAILYARD_ANSWER_MIN_CONFIDENCE, not below RAILYARD_ANSWER_UNSURE_CONFIDENCE), or the local
  model could not score; the fallback writes the answer instead of the closest passage. On
  when a fallback is configured (OPENAI_API_KEY or RAILYARD_FALLBACK_BASE_URL). A question
  the handbook has nothing for gets "I don't know" without a paid call.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

from graph.difficulty import difficulty
from graph.protocols import ChatRequest, Generation, Usage

Failure = Literal["error", "broken_stream", "rejected", "unsure"]
ON_ERRORS: frozenset[Failure] = frozenset({"error", "broken_stream"})
CONTINUE = "Continue your previous answer exactly where it stopped, without repeating any of it."


@dataclass(frozen=True)
class Routing:
    name: str = "local-first"
    first: Literal["local", "fallback"] = "local"
    """The route asked first."""
    fallback_on: frozenset[Failure] = field(default=ON_ERRORS)
    """The local failures the fallback model answers (see the module docstring); empty, a
    local failure fails the request (local-only)."""
    max_difficulty: float | None = None
    """Questions whose difficulty (graph/difficulty.py) is above this go to the fallback
    first; None never routes by difficulty."""

    @property
    def reaches_fallback(self) -> bool:
        """Whether anything under this policy may be answered by the fallback model."""
        return self.first == "fallback" or "error" in self.fallback_on

    def falls_back_on(self, failure: Failure) -> bool:
        return self.reaches_fallback and failure in self.fallback_on

    def first_route(
        self, question: str, passages: list[dict], escalated: bool = False
    ) -> tuple[Literal["local", "fallback"], float | None]:
        """The route a chat request asks first, and the question's difficulty when this
        policy routes by it. An escalated request goes to the fallback."""
        if escalated:
            return "fallback", None
        if self.max_difficulty is None:
            return self.first, None
        score = difficulty(question, passages)
        return ("fallback" if score > self.max_difficulty else self.first), score

    def takes_over(self, request: ChatRequest) -> bool:
        """Whether the fallback continues a local stream that broke."""
        return self.falls_back_on("broken_stream") and request.route != "fallback"

    def escalates_rejected(
        self, generation: Generation, *, ungrounded: bool, on_ungrounded: str
    ) -> bool:
        """Whether a local answer the output rails stopped before any of it was sent is asked
        of the fallback model: when this policy escalates rejections, or when the answer was
        unsupported and the rails policy's `on_ungrounded` is `fallback`."""
        if generation.route != "local" or "error" not in self.fallback_on:
            return False
        return "rejected" in self.fallback_on or (ungrounded and on_ungrounded == "fallback")

    def escalating(self) -> Routing:
        """This policy plus escalation of rejected answers (when it can reach the fallback)."""
        if "error" not in self.fallback_on or self.first == "fallback":
            return self
        if "rejected" in self.fallback_on:
            return self
        return dataclasses.replace(
            self, name=f"{self.name}+escalate", fallback_on=self.fallback_on | {"rejected"}
        )


def take_over(request: ChatRequest, prefix: str) -> ChatRequest:
    """The request for the fallback taking over a broken local stream that already sent
    `prefix`: it is asked to continue the text, not to start again."""
    messages = request.messages
    if prefix:
        messages = [*messages, {"role": "assistant", "content": prefix},
                    {"role": "user", "content": CONTINUE}]  # fmt: skip
    return dataclasses.replace(request, messages=messages, route="fallback")


def joined(prefix: str, text: str) -> str:
    """Two pieces of one answer (a broken stream and the fallback's continuation), with a space
    between them where one is needed."""
    if not prefix or not text:
        return prefix + text
    return prefix + ("" if prefix[-1].isspace() or text[0] in ".,;:!?)" else " ") + text


def escalated(first: Generation, second: Generation, reason: str) -> Generation:
    """The fallback's answer, carrying what the local attempt before it cost and took."""
    usage = Usage(
        first.usage.prompt_tokens + second.usage.prompt_tokens,
        first.usage.completion_tokens + second.usage.completion_tokens,
    )
    return dataclasses.replace(
        second,
        usage=usage,
        cost_usd=first.cost_usd + second.cost_usd,
        latency_s=first.latency_s + second.latency_s,
        ttft_s=None if second.ttft_s is None else first.latency_s + second.ttft_s,
        fallback_reasons=[*first.fallback_reasons, reason, *second.fallback_reasons],
    )


POLICIES: dict[str, Routing] = {
    "local-only": Routing("local-only", fallback_on=frozenset()),
    "local-first": Routing("local-first"),
    "api-only": Routing("api-only", first="fallback"),
    "quality-gated": Routing("quality-gated", fallback_on=ON_ERRORS | {"rejected"}),
    "difficulty": Routing("difficulty", max_difficulty=0.4),
}


def policy(
    name: str, max_difficulty: float | None = None, *, fallback_configured: bool = False
) -> Routing:
    """The named policy; `max_difficulty` replaces the difficulty policy's threshold; with a
    fallback configured, unsure answers escalate under every policy that can reach it."""
    try:
        chosen = POLICIES[name]
    except KeyError:
        raise ValueError(
            f"unknown routing policy {name!r}; choose from {', '.join(POLICIES)}"
        ) from None
    if max_difficulty is not None and chosen.max_difficulty is not None:
        chosen = dataclasses.replace(chosen, max_difficulty=max_difficulty)
    if fallback_configured and "error" in chosen.fallback_on:
        chosen = dataclasses.replace(chosen, fallback_on=chosen.fallback_on | {"unsure"})
    return chosen
