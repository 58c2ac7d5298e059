"""How hard a question is likely to be for the small local model, from signals that cost
nothing at request time: how well retrieval matched, whether the question asks for a fact or
for reasoning, how long it is, and whether its answer is spread over several documents.

A score in [0, 1]; the `difficulty` routing policy sends questions above its threshold to the
fallback model first. `railyard experiment fallback` reports how well the score separates the
questions the local model answered from those it did not (AUC), so the threshold is set from
data rather than taste.
"""

from __future__ import annotations

import re

from ingest.text import content_words

OPEN_ENDED = re.compile(
    r"\b(why|explain|describe|compare|comparison|difference|differ|pros and cons|trade-?offs?|"
    r"what should|how (should|do|does|can|could|would) (i|we|you|a|an|the)|best way|recommend|"
    r"summari[sz]e|walk me through|steps?)\b",
    re.I,
)
FACTOID = re.compile(
    r"^\s*(how (many|much|long|often|far|soon|old)|when|who|where|which|what is|what are|"
    r"what's|is|are|can|do|does|did|must|may)\b",
    re.I,
)
# Scores of relevant chunks (MiniLM cosine) lie roughly between 0.35 and 0.8.
STRONG, WEAK = 0.75, 0.35
WEIGHTS = {"retrieval": 0.4, "form": 0.3, "length": 0.15, "spread": 0.15}


def signals(question: str, passages: list[dict]) -> dict[str, float]:
    top = max((p.get("score") or 0.0 for p in passages), default=0.0)
    retrieval = min(1.0, max(0.0, (STRONG - top) / (STRONG - WEAK)))
    if OPEN_ENDED.search(question) or question.count("?") > 1:
        form = 1.0
    elif FACTOID.search(question):
        form = 0.0
    else:
        form = 0.5
    length = min(1.0, max(0.0, (len(content_words(question)) - 5) / 10))
    close = {p["source"] for p in passages if (p.get("score") or 0.0) >= top - 0.05}
    spread = min(1.0, (len(close) - 1) / 2) if close else 0.0
    return {"retrieval": retrieval, "form": form, "length": length, "spread": spread}


def difficulty(question: str, passages: list[dict]) -> float:
    parts = signals(question, passages)
    return round(sum(WEIGHTS[name] * value for name, value in parts.items()), 3)
