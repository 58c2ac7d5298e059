"""Retrieved chunks are data, not instructions: sentences in them that try to instruct the
assistant (override phrasing, jailbreaks, encoded payloads: rails/injection/detector.py) or give
it a task (requests addressed to whoever answers: rails/injection/directive.py) are removed, and
secrets and PII redacted, before the chunks reach the prompt. Called directly by the engine (not
through a Colang flow) because it runs once per chunk on the request's critical path."""

from __future__ import annotations

from typing import Any

from ingest.text import REMOVED, SENTENCE, SOFT_WRAP
from rails.injection.detector import scan
from rails.injection.directive import Embed, directives
from rails.pii.detector import DEFAULT_ENTITIES
from rails.pii.detector import redact as redact_pii
from rails.secrets.detector import redact as redact_secrets


def neutralise(
    text: str, threshold: float = 0.7, entities=DEFAULT_ENTITIES, embed: Embed | None = None
) -> tuple[str, dict]:
    """The chunk made safe to quote, and what was changed. Without `embed` only the requests
    that direct the answer are found among the task-giving sentences."""
    findings: dict[str, Any] = {}
    spans = units(text)
    said = [" ".join(text[a:b].split()) for a, b in spans]
    tasks = directives(said, embed)
    cleaned, position = [], 0
    for (a, b), sentence, task in zip(spans, said, tasks, strict=True):
        if task or scan(text[a:b]).score >= threshold:
            findings.setdefault("injection", []).append(sentence[:200])
            cleaned += [text[position:a], REMOVED]
            position = b
    cleaned = "".join(cleaned) + text[position:]
    cleaned, secrets = redact_secrets(cleaned)
    if secrets:
        findings["secrets"] = sorted({s.kind for s in secrets})
    cleaned, pii = redact_pii(cleaned, tuple(entities))
    if pii:
        findings["pii"] = sorted({e.kind for e in pii})
    return cleaned, findings


def units(text: str) -> list[tuple[int, int]]:
    """Where the sentences, list items and lines of `text` are; a soft-wrapped sentence is one
    unit (its line breaks are read as spaces)."""
    flat = SOFT_WRAP.sub(lambda m: " " * len(m.group()), text)
    spans, start = [], 0
    for match in SENTENCE.finditer(flat):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(flat)))
    return [(a, b) for a, b in spans if flat[a:b].strip()]
