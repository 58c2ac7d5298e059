"""The answer settings: the prompt, the knowledge base and retrieval, how answers are chosen,
the rails and the answer cache (RAILYARD_PROMPT_*, RAILYARD_RETRIEVAL_*, RAILYARD_ANSWER_*,
RAILYARD_RAILS_*, RAILYARD_CACHE_*). Part of `Settings` (serving/settings/__init__.py)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

from serving.settings.paths import DEFAULT_PROMPT, PACKAGED_RAILS


class AnswerSettings(BaseModel):
    @field_validator("retrieval_extractive", mode="before")
    @classmethod
    def _old_extractive_name(cls, value: object) -> object:
        if value == "fallback":
            logging.getLogger("railyard.settings").warning(
                "RAILYARD_RETRIEVAL_EXTRACTIVE=fallback is deprecated: it is named `unsupported` "
                "(the retrieved sentences answer when the model's text is unsupported; the "
                "paid fallback model has nothing to do with it)"
            )
            return "unsupported"
        return value

    prompt_file: Path = Field(
        DEFAULT_PROMPT,
        description="Versioned answer prompt (YAML); the prompt files beside it with the same id "
        "are its other released versions.",
    )
    prompt_rollout: str = Field(
        "",
        description="Which prompt versions serve and their shares in percent, e.g. "
        "'answer@v2=90,answer@v3=10' (sticky per thread, else user, else API key); empty: the "
        "prompt file's version alone. A rollout recorded with `railyard prompts` overrides it.",
    )
    prompt_refresh_s: float = Field(
        5.0, gt=0, description="How often a gateway reads the newest recorded prompt rollout."
    )

    milvus_uri: str | None = Field(
        None, description="URI of a Milvus server; default the embedded milvus-lite."
    )
    knowledge_base: list[Path] = Field(
        default_factory=list,
        description="Folders `serve` indexes at start when the index is empty (make serve: "
        "examples/knowledge-base).",
    )
    retrieval_k: int = Field(4, ge=1, le=50, description="Chunks retrieved per question.")
    retrieval_min_score: float | None = Field(
        None,
        ge=-1,
        le=1,
        description="Cosine similarity below which a retrieved chunk is dropped before the "
        "answer step; with none left the answer is 'I don't know' and no model is called. "
        "Empty (default): 0 in answer mode select (no absolute gate: the answerability model "
        "decides after the model has looked), 0.35 in generate mode.",
    )
    retrieval_timeout_s: float = Field(
        10, gt=0, description="Longest wait for the vector store; past it (or on its error) "
        "the request gets 503 vector_store_unavailable instead of hanging.",
    )  # fmt: skip
    retrieval_context_chunks: int = Field(3, ge=1, description="Chunks put into the prompt.")
    retrieval_extractive: Literal["unsupported", "never", "always"] = Field(
        "unsupported",
        description="Generated answers (answer_mode generate, or the fallback's): answer with "
        "the best retrieved sentences when the model's text is not supported by the context "
        "(unsupported; its old name `fallback` is still read, with a warning), never, or always "
        "(no model call: for measurements only).",
    )
    answer_mode: Literal["auto", "select", "generate"] = Field(
        "auto",
        description="How the model answers from retrieved passages: 'select' (the model "
        "scores the passages' sentences by how well each explains the question, and the answer "
        "quotes the best in document order; right for a small base model), 'generate' (the "
        "model writes the answer, checked by the output rails; right for an instruct model). "
        "'auto': select for the packaged 270M base model, generate for other models.",
    )
    answer_spotlight: bool = Field(
        True,
        description="Generated answers: datamark the retrieved passages in the prompt (their "
        "words joined by ^, which the system prompt says marks data, not instructions: "
        "spotlighting against injected instructions) and take the marks out of the answer.",
    )
    answer_candidates: int = Field(
        6, ge=1, le=50, description="select: candidate sentences scored per question part."
    )
    answer_min_confidence: float | None = Field(
        None,
        description="select: the calibrated probability (0..1, graph/answerability.json, "
        "fitted by `railyard train answerability`) at or above which the chosen sentences are "
        "given as the answer; below it the closest passage is offered as possibly not "
        "answering, or the fallback model is asked when one is configured. Empty: the fitted "
        "model's own threshold.",
    )
    answer_unsure_confidence: float | None = Field(
        None,
        description="select: the probability below which the answer is 'I don't know' (naming "
        "the nearest page when the search agrees on one) instead of the closest passage. "
        "Empty: the fitted model's own threshold.",
    )

    rails_enabled: bool = Field(
        True,
        description="Run the guardrails (input, retrieved-content and output rails). Off only "
        "to measure what they cost.",
    )
    rails_dir: Path = Field(
        PACKAGED_RAILS,
        description="The NeMo Guardrails policy folder (config.yml + Colang flows + actions); "
        "edits take effect without a restart.",
    )
    cache_enabled: bool = Field(
        True,
        description="Serve paraphrases of answered single-question requests from the semantic "
        "cache (route `cache`; the rails still run).",
    )
    cache_similarity: float = Field(
        0.9, gt=0, le=1, description="MiniLM cosine at which a question counts as a paraphrase."
    )
    cache_max_entries: int = Field(10_000, ge=1, description="Answers kept (least recent go).")
    cache_ttl_s: float = Field(86_400, gt=0, description="Seconds a cached answer is served.")
    cache_signing_key: SecretStr | None = Field(
        None, description="Key the replicas sign the answers they share through Redis with "
        "(the same on every replica; `openssl rand -hex 32`); an entry that fails the check is "
        "dropped. Unset with RAILYARD_REDIS_URL: each replica keeps its cache to itself.",
    )  # fmt: skip
