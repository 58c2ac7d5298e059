"""Question sets and reports are JSON Lines files: one object per non-blank line."""

from __future__ import annotations

import json
from pathlib import Path


def read_jsonl(path: Path | str) -> list[dict]:
    """Every object of a JSONL file, in order; blank lines are skipped."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def questions(path: Path | str, limit: int | None = None) -> list[str]:
    """The `question` of the first `limit` objects of a QA file."""
    return [entry["question"] for entry in read_jsonl(path)][:limit]
