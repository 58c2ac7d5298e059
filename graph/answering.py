"""Answers made of the retrieved passages' own sentences: the question's parts, the candidate
sentences for each, and the answer composed of the chosen ones in document order. The model
chooses (graph/nodes/select.py); the lexical choice here is the fallback when no model answers."""

from __future__ import annotations

import itertools
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
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")
ASIDE = re.compile(
    r"^(also|separately|plus|and|on top of that|one more thing|another thing)\b[,:]?\s*", re.I
)
CONDITION = re.compile(
    r"^(if|when|once|since|after|before|while|now that|as soon as|unless|in case)\b"
    r"(?!\s+(is|are|was|were|do|does|did|can|could|should|will|would|may|must|has|have)\b)",
    re.I,
)
"""A leading clause that sets a condition for the question after it ("If I work part time,
how much ..."), not a question of its own ("When is payday, and ...")."""
SAYS_ENOUGH = 4
"""Content words a trailing statement needs to be a request of its own."""
MAX_PARTS = 3
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
    """The questions inside one message: "What is X, and how do I Y?" gives two, and so does
    "Who do I email? Separately, my badge reader throws an error." A sentence that only sets
    the scene ("First work trip coming up.") belongs to the question after it; a statement
    after the last question is a request of its own when it says enough (SAYS_ENOUGH content
    words), else it belongs to the question before it. Within a sentence, a piece is a part of
    its own only when it starts with a question word ("vacation and sick leave" stays one)."""
    pieces: list[tuple[str, bool]] = []  # (text, asks)
    scene = ""
    for sentence in SENTENCE_BREAK.split(question.strip()):
        sentence = ASIDE.sub("", sentence.strip())
        if not sentence:
            continue
        if sentence.endswith("?") or QUESTION_WORD.match(sentence):
            for part in _clauses(sentence):
                pieces.append((f"{scene} {part}".strip(), True))
                scene = ""
        else:
            scene = f"{scene} {sentence}".strip()
    if scene:
        if pieces and len(content_words(scene)) < SAYS_ENOUGH:
            pieces[-1] = (f"{pieces[-1][0]} {scene}", True)
        else:
            pieces.append((scene, False))
    parts = [p for p, _ in pieces if len(p.split()) >= 3][:MAX_PARTS]
    return parts if len(parts) > 1 else [question.strip()]


def _clauses(sentence: str) -> list[str]:
    """A sentence's questions: a piece that starts with a question word after a comma, a
    semicolon or "and" is a question of its own; a leading condition ("If I work part time,
    how much ...") belongs to the question it leads into."""
    parts: list[str] = []
    lead = ""
    for piece in (p.strip(" ?,;") for p in PART_BREAK.split(sentence)):
        if not piece:
            continue
        if not parts and not lead and CONDITION.match(piece):
            lead = piece
            continue
        if parts and not QUESTION_WORD.match(piece):
            parts[-1] = f"{parts[-1]} and {piece}"
            continue
        parts.append(f"{lead}, {piece}" if lead else piece)
        lead = ""
    if lead:
        parts = [*parts[:-1], f"{parts[-1]} {lead}"] if parts else [lead]
    return [f"{p}?" for p in parts]


def candidates(
    question: str,
    passages: list[dict],
    limit: int,
    similarity: dict[tuple[int, int], float] | None = None,
) -> list[Candidate]:
    """Up to `limit` sentences of the passages, most promising first: by the words they share
    with the question (a better-ranked passage, a number for a quantity question) and, given
    `similarity` (each sentence's MiniLM cosine to the question, by passage and position), by
    meaning, the two rankings taken in turn, so the sentence that answers a paraphrase is
    scored even when it shares no word with the question."""
    wanted = _stems(question)
    wants_number = wants_quantity(question)
    lexical: list[tuple[float, Candidate]] = []
    semantic: list[tuple[float, Candidate]] = []
    for index, passage in enumerate(passages):
        for position, sentence in enumerate(sentences(passage["text"], min_words=3)):
            words = _stems(sentence)
            if not words or REMOVED in sentence:
                continue  # what the retrieved-content rail took out is no answer
            score = len(words & wanted) / math.sqrt(len(words)) - 0.1 * index
            bonus = 0.3 if wants_number and has_number(sentence) else 0.0
            candidate = Candidate(index, position, sentence, passage.get("heading", ""))
            lexical.append((score + bonus, candidate))
            if similarity is not None:
                semantic.append((similarity.get((index, position), 0.0) + bonus / 3, candidate))
    lexical.sort(key=lambda t: -t[0])
    semantic.sort(key=lambda t: -t[0])
    chosen: dict[tuple[int, int], Candidate] = {}
    for pair in itertools.zip_longest(semantic, lexical):
        for ranked in pair:
            if ranked is not None and len(chosen) < limit:
                chosen.setdefault((ranked[1].passage, ranked[1].position), ranked[1])
    return list(chosen.values())


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
