"""Is a generated answer supported by the retrieved text, and if not, which sentence of it
answers best (the extractive answer)."""

from __future__ import annotations

import math
import re

from ingest.vocabulary import content_words, stem

NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[*])|\n+")
# A single line break inside a paragraph is a soft wrap, unless a list item, heading or table
# row starts on the next line.
SOFT_WRAP = re.compile(r"(?<!\n)[ \t]*\n(?![ \t]*(?:\n|[-*+] |\d+[.)] |#|\|))")
QUANTITY_QUESTION = re.compile(
    r"\b(how (many|much|long|often|far|soon|old)|what (is|are) the (number|amount|rate|cap|"
    r"limit|maximum|minimum|fare|cost|price|deadline)|within how|up to how)\b",
    re.I,
)
MIN_NEW_COVERAGE = 0.6
MIN_TOPIC_COVERAGE = 0.5


def _stems(text: str) -> set[str]:
    return {stem(w) for w in content_words(text)}


def sentences(text: str) -> list[str]:
    parts = (s.strip(" -*#>\t") for s in SENTENCE.split(SOFT_WRAP.sub(" ", text)))
    return [s for s in parts if len(s.split()) >= 4]


def support(answer: str, question: str, context: str) -> float:
    """How well one context sentence backs what the answer adds to the question: the share of
    the answer's new words (not in the question) found in the best sentence that is about the
    same thing (holds at least half of all the answer's words) and states all its numbers; 0 if
    the answer adds nothing."""
    words = _stems(answer)
    new = words - _stems(question)
    if not new:
        return 0.0
    numbers = set(NUMBER.findall(answer))
    best = 0.0
    for sentence in sentences(context) or [context]:
        found = _stems(sentence)
        if numbers - set(NUMBER.findall(sentence)):
            continue
        if len(words & found) / len(words) < MIN_TOPIC_COVERAGE:
            continue
        best = max(best, len(new & found) / len(new))
    return best


def extractive_answer(question: str, passages: list[dict]) -> tuple[str, int] | None:
    """The sentence that shares most with the question (earlier passages and, for quantity
    questions, sentences with a number preferred), and the index of its passage."""
    wanted = _stems(question)
    wants_number = bool(QUANTITY_QUESTION.search(question))
    best, best_score = None, 0.0
    for index, passage in enumerate(passages):
        for sentence in sentences(passage["text"]):
            words = _stems(sentence)
            overlap = len(words & wanted)
            if not overlap:
                continue
            score = overlap / math.sqrt(len(words)) + 0.5 * (passage["score"] or 0) - 0.05 * index
            if wants_number and NUMBER.search(sentence):
                score += 0.5
            if score > best_score:
                best, best_score = (sentence, index), score
    return best
