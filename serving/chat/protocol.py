"""OpenAI chat-completions wire types, in OpenAI's field order; railyard's extension is fenced off
at the end of each response type."""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class TextPart(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None
    name: str | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """Accepted fields. Unknown fields are ignored, as vLLM does; wrong types are 400s."""

    model_config = ConfigDict(extra="ignore", strict=True)

    messages: list[ChatMessage] = Field(min_length=1)
    model: str
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    logit_bias: dict[str, float] | None = None
    max_completion_tokens: int | None = Field(None, ge=1)
    max_tokens: int | None = Field(None, ge=1)
    n: int | None = Field(None, ge=1)
    presence_penalty: float | None = Field(None, ge=-2, le=2)
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    tools: list[dict[str, Any]] | None = None
    user: str | None = None

    def stop_list(self) -> list[str] | None:
        if self.stop is None:
            return None
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


class ResponseMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None = None


class Choice(BaseModel):
    index: int = 0
    message: ResponseMessage
    logprobs: None = None
    finish_reason: str | None


class UsageInfo(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class Citation(BaseModel):
    source: str
    chunk_id: str
    score: float


class RailyardInfo(BaseModel):
    """railyard's extension: how the answer was produced."""

    trace_id: str
    route: Literal["local", "fallback", "cache", "blocked"]
    citations: list[Citation] = []
    rails: list[dict[str, Any]] = []
    cost_usd: float
    model_called: bool = True
    """False when no model was asked (an extractive or no-context answer, a cached or blocked
    one): route and cost then say where the answer came from, not a model's price."""
    prompt_version: str
    answer_mode: Literal[
        "selected", "closest", "generated", "extractive", "no_context", "refused"
    ] = "generated"
    confidence: float | None = None
    """select answers: how likely (0..1, calibrated) the passages answer the question."""
    decision: Literal["answer", "unsure", "none"] | None = None
    """select answers: answer (confident), unsure (the closest passage, said to be so) or
    none ("I don't know")."""


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


class ChatCompletionResponse(BaseModel):
    id: str = Field(default_factory=completion_id)
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[Choice]
    usage: UsageInfo
    # --- railyard extension ---
    railyard: RailyardInfo


class DeltaMessage(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: DeltaMessage
    logprobs: None = None
    finish_reason: str | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: UsageInfo | None = None
    # --- railyard extension: on the final chunk only ---
    railyard: RailyardInfo | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "railyard"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
