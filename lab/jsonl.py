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


def qa_items(paths: list[Path | str] | Path | str) -> list[dict]:
    """The items of one or more QA files in one shape: `reference` (any one matches),
    `reference_all` (one of each group), `sources` and `answerable`. Reads railyard's own sets
    (`reference`, `source`/`sources`, `answerable`) and the colloquial validation sets'
    (`must_contain_any`, `must_contain_each`, `source` with two files joined by `|`; an item
    with nothing to match, such as a near miss, is unanswerable)."""
    items = []
    for path in paths if isinstance(paths, list) else [paths]:
        for item in read_jsonl(path):
            item = dict(item)
            if "must_contain_any" in item:
                item.setdefault("reference", item["must_contain_any"])
            if "must_contain_each" in item:
                item.setdefault("reference_all", item["must_contain_each"])
            source = item.get("source") or ""
            if "|" in source:
                item.setdefault("sources", source.split("|"))
                item["source"] = item["sources"][0]
            item.setdefault("answerable", bool(item.get("reference")))
            items.append(item)
    return items
