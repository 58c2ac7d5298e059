"""Request bodies of the observability endpoints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trace_id: str = Field(min_length=1, max_length=128)
    score: float = Field(ge=0, le=1, description="1 is good, 0 is bad (thumbs up = 1).")
    comment: str | None = Field(None, max_length=4000)
    correction: str | None = Field(
        None,
        max_length=8000,
        description="The answer that would have been right: `railyard feedback export` pairs "
        "it (chosen) with the answer given (rejected).",
    )
