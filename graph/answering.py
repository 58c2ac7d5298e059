"""Answers made of the retrieved passages' own sentences: the question's parts, the candidate
sentences for each, and the answer composed of the chosen ones in document order. The model
chooses (graph/nodes/select.py); the lexical choice here is the fallback when no model answers."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ingest.text import REMOVED, content_words, sentences, stem

NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")
QUANTITY_QUESTION = re.compile(
    r"\b(how (many|much|long|often|far|soon|old|early)|what (is|are) the (number|amount|rate|cap|"
    r"limit|maximum|minimum|fare|cost|price|deadline|budget)|within how|up to how|what age)\b",
    re.I,
)
QUESTION_WORD = re.compile(
    r"^(what|what's|which|who|whom|whose|when|where|why|how|is|are|do|does|did|can|could|"
    r"should|may|must|will|would)\b",
    re.I,
)
# "X?, and how ..." / "X; when ..." / "X? Where ...": a second question inside one message.
PART_BREAK = re.compile(r"\s*(?:\?\s+|[,;]\s+(?:and\s+|also\s+)?|\s+and\s+(?:also\s+)?)", re.I)
SHORT_WORDS = 8
"""A chosen sentence this short, or one that introduces a list, brings the next sentence."""


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage that may answer (part of) the question."""

    passage: int
    """Index of its passage in the retrieved passages (best first)."""
    position: int
    """Index of the sentence in its passage."""
    text: str
    heading: str = ""
    """The passage's heading path, which the sentence may need to be understood."""


def _stems(text: str) -> set[str]:
    return {stem(w) for w in content_words(text)}


def wants_quantity(question: str) -> bool:
    """The question asks for an amount, a duration, a count or a date."""
    return bool(QUANTITY_QUESTION.search(question))


def has_number(text: str) -> bool:
    """The text states a number, in digits or words ("four hours")."""
    return bool(NUMBER.search(text)) or any(w.isdigit() for w in content_words(text))


def question_parts(question: str) -> list[str]:
    """The questions inside one message: "What is X, and how do I Y?" gives two. A piece is a
    part of its own only when it starts with a question word; otherwise it belongs to the
    piece before it ("vacation and sick leave" stays one question)."""
    pieces = PART_BREAK.split(question.strip())
    parts: list[str] = []
    for piece in (p.strip(" ?,;") for p in pieces):
        if not piece:
            continue
        if parts and not QUESTION_WORD.match(piece):
            parts[-1] = f"{parts[-1]} and {piece}"
        else:
            parts.append(piece)
    parts = [f"{p}?" for p in parts if len(p.split()) >= 3]
    return parts if len(parts) > 1 else [question.strip()]


def candidates(question: str, passages: list[dict], limit: int) -> list[Candidate]:
    """Up to `limit` sentences of the passages, most promising first (words shared with the
    question, a better-ranked passage, a number for a quantity question)."""
    wanted = _stems(question)
    wants_number = wants_quantity(question)
    scored: list[tuple[float, Candidate]] = []
    for index, passage in enumerate(passages):
        for position, sentence in enumerate(sentences(passage["text"], min_words=3)):
            words = _stems(sentence)
            if not words or REMOVED in sentence:
                continue  # what the retrieved-content rail took out is no answer
            score = len(words & wanted) / math.sqrt(len(words)) - 0.1 * index
            if wants_number and has_number(sentence):
                score += 0.3
            candidate = Candidate(index, position, sentence, passage.get("heading", ""))
            scored.append((score, candidate))
    scored.sort(key=lambda t: -t[0])
    return [c for _, c in scored[:limit]]


def with_neighbour(chosen: Candidate, passages: list[dict]) -> list[Candidate]:
    """The chosen sentence, and the next one of its passage when the chosen one is too short to
    stand alone or introduces what follows (ends with a colon)."""
    text = chosen.text.rstrip()
    if len(text.split()) >= SHORT_WORDS and not text.endswith(":"):
        return [chosen]
    following = sentences(passages[chosen.passage]["text"], min_words=3)
    if chosen.position + 1 < len(following):
        return [
            chosen,
            Candidate(chosen.passage, chosen.position + 1, following[chosen.position + 1]),
        ]
    return [chosen]


def compose(chosen: list[Candidate]) -> tuple[str, list[int]]:
    """The answer: the chosen sentences once each, in document order (passage, then position),
    and the indices of the passages it cites, in the order they appear."""
    unique = sorted({(c.passage, c.position): c for c in chosen}.values(),
                    key=lambda c: (c.passage, c.position))  # fmt: skip
    text = " ".join(_as_sentence(c.text) for c in unique)
    cited = list(dict.fromkeys(c.passage for c in unique))
    return text, cited


def _as_sentence(text: str) -> str:
    text = text.strip()
    return text if text[-1:] in ".!?:" else f"{text}."


def extractive_answer(question: str, passages: list[dict]) -> tuple[str, list[int]] | None:
    """Without a model: the sentence that shares most with each part of the question (earlier
    passages and, for quantity questions, sentences with a number preferred), composed."""
    chosen = []
    for part in question_parts(question):
        found = candidates(part, passages, limit=1)
        if found and _stems(found[0].text) & _stems(part):
            chosen += with_neighbour(found[0], passages)
    return compose(chosen) if chosen else None
