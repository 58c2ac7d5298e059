"""What the request graph's nodes are given at run time: the parts `serving/` builds."""

from __future__ import annotations

from dataclasses import dataclass

from graph.prompt import Prompt
from graph.protocols import ChatModel


@dataclass(frozen=True)
class Context:
    chat_model: ChatModel
    """Answers prompts; the LiteLLM router (local vLLM first, fallback second) in production."""
    prompt: Prompt
    """The versioned answer prompt."""
