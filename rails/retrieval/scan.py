"""Retrieved chunks are data, not instructions: sentences in them that try to instruct the
assistant are removed, and secrets and PII redacted, before the chunks reach the prompt. Called
directly by the engine (not through a Colang flow) because it runs once per chunk on the
request's critical path."""

from __future__ import annotations

from typing import Any

from ingest.text import REMOVED, SENTENCE
from rails.injection.detector import scan
from rails.pii.detector import DEFAULT_ENTITIES
from rails.pii.detector import redact as redact_pii
from rails.secrets.detector import redact as redact_secrets


def neutralise(text: str, threshold: float = 0.6, entities=DEFAULT_ENTITIES) -> tuple[str, dict]:
    """The chunk made safe to quote, and what was changed."""
    findings: dict[str, Any] = {}
    parts = SENTENCE.split(text)
    kept = []
    for part in parts:
        finding = scan(part)
        if finding.score >= threshold:
            findings.setdefault("injection", []).append(part.strip()[:200])
            kept.append(REMOVED)
        else:
            kept.append(part)
    # Rejoin with the separators the split dropped approximated by a space or newline.
    cleaned = _rejoin(text, parts, kept)
    cleaned, secrets = redact_secrets(cleaned)
    if secrets:
        findings["secrets"] = sorted({s.kind for s in secrets})
    cleaned, pii = redact_pii(cleaned, tuple(entities))
    if pii:
        findings["pii"] = sorted({e.kind for e in pii})
    return cleaned, findings


def _rejoin(text: str, parts: list[str], kept: list[str]) -> str:
    if parts == kept:
        return text
    out, position = [], 0
    for original, replacement in zip(parts, kept, strict=True):
        start = text.index(original, position)
        out.append(text[position:start])
        out.append(replacement)
        position = start + len(original)
    return "".join(out) + text[position:]
