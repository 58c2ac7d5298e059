"""Helpers the rail actions share: reading their policy from config.yml's custom_data and
building NeMo `RailOutcome`s with a score."""

from __future__ import annotations

from typing import Any

from nemoguardrails.actions.rail_outcome import RailOutcome, TransformTarget

TARGETS = {"input": TransformTarget.USER_MESSAGE, "output": TransformTarget.BOT_MESSAGE}


def policy(config: Any, section: str) -> dict[str, Any]:
    """custom_data[section] of the rails config, or {} (actions fall back to their defaults)."""
    data = getattr(config, "custom_data", None) or {}
    return data.get(section) or {}


def allow(score: float | None = None, **metadata: Any) -> RailOutcome:
    return RailOutcome.allow(metadata={"score": score, **metadata})


def block(reason: str, score: float | None = None, **metadata: Any) -> RailOutcome:
    return RailOutcome.block(reason=reason, metadata={"score": score, **metadata})


def transform(source: str, text: str, reason: str, **metadata: Any) -> RailOutcome:
    return RailOutcome.transform([(TARGETS[source], text)], reason=reason, metadata=metadata)
