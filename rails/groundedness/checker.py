"""Is each sentence of an answer backed by the retrieved chunks? A sentence is supported when
its names occur in the chunks, its numbers occur in the chunk sentence (or pair of sentences)
that states it, its negation agrees with that sentence, and most of what it adds to the question
is said there (word overlap, or MiniLM similarity where the overlap is partial, as in a
paraphrase). The one groundedness judge of railyard: the output rail, the unguarded graph's
check and the evaluations all call it."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ingest.text import STOPWORDS, content_words, stem
from ingest.text import sentences as split_sentences

Embed = Callable[[list[str]], list[list[float]]]

NUMBER = re.compile(r"(?<![\w.])\$?(\d+(?:[.,]\d+)*)(%?)")
NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][A-Za-z0-9&.-]*[A-Za-z0-9]|[A-Z]{2,})\b")
NEGATION = re.compile(r"\b(not|never|no|none|cannot|can't|don't|doesn't|isn't|aren't|won't|"
                      r"shouldn't|mustn't|without|neither|nor)\b", re.I)  # fmt: skip
# Redactions and PII placeholders made by other rails are not claims.
MARKER = re.compile(r"\[REDACTED [A-Z_ ]+\]|\[removed: [^\]]*\]|<[A-Z_]+_\d+>")
HEDGE = re.compile(
    r"^(i don't know|i do not know|i'm sorry|i am sorry|the (context|knowledge base|handbook) "
    r"(does not|doesn't))",
    re.I,
)
CLAUSE_WORDS = 4
"""Shorter answers are bare values, not clauses: their negation is not compared."""
# Capitalised words that are not names.
COMMON = frozenset(
    """I If It In On At As An A The This That These Those There Their They We You
    Your Our For From To Of And Or But With By When Where What Which Who Why How Yes No Also
    Each Every Some Any All Most Many More Please Note""".split()
)


@dataclass(frozen=True)
class SentenceCheck:
    sentence: str
    supported: bool
    score: float
    reason: str = ""


@dataclass(frozen=True)
class Grounding:
    supported: bool
    score: float
    """The weakest sentence's score."""
    sentences: list[SentenceCheck] = field(default_factory=list)

    @property
    def unsupported(self) -> list[SentenceCheck]:
        return [s for s in self.sentences if not s.supported]


def _numbers(text: str) -> set[str]:
    return {m.group(1).replace(",", "") + m.group(2) for m in NUMBER.finditer(text)} | {
        w for w in content_words(text) if w.isdigit()
    }


def _names(text: str) -> set[str]:
    return {n.lower().rstrip(".") for n in NAME.findall(text) if n not in COMMON}


def _leading_name(sentence: str) -> set[str]:
    """The sentence's first word when it starts a name ("Stanford University is in Chestnut
    Hill") or is most of a bare answer ("Walmart"): NAME skips a sentence's first word, which
    is capitalised anyway; an ordinary first word ("Employees earn ...") is not a name."""
    words = sentence.split()
    match = re.match(r"\W*([A-Z][A-Za-z0-9&-]*[A-Za-z0-9])\b", sentence)
    if not match or match.group(1) in COMMON or match.group(1).lower() in STOPWORDS:
        return set()
    starts_name = len(words) > 1 and words[1][:1].isupper()
    return {match.group(1).lower()} if starts_name or len(words) <= 3 else set()


def _stems(text: str) -> set[str]:
    return {stem(w) for w in content_words(text)}


def _windows(context: Sequence[str], pairs: bool = True) -> list[str]:
    """Chunk sentences, alone and (with `pairs`) with their neighbour (a claim may span two)."""
    out = []
    for chunk in context:
        parts = split_sentences(chunk) or [chunk]
        out += parts
        if pairs:
            out += [f"{a} {b}" for a, b in itertools.pairwise(parts)]
    return out


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


class GroundednessChecker:
    def __init__(
        self,
        embed: Embed | None = None,
        threshold: float = 0.6,
        paraphrase_floor: float = 0.3,
        similarity: float = 0.78,
    ) -> None:
        self.embed = embed
        self.threshold = threshold
        """Share of a sentence's new words one passage must state."""
        self.paraphrase_floor = paraphrase_floor
        """Below this overlap a sentence is unsupported without asking the embedder."""
        self.similarity = similarity
        """MiniLM cosine at which a partly-overlapping sentence counts as a paraphrase."""

    def check(self, answer: str, context: Sequence[str], question: str = "") -> Grounding:
        answer = MARKER.sub("", answer)
        parts = split_sentences(answer) or ([answer.strip()] if answer.strip() else [])
        checks = [self.check_sentence(s, context, question) for s in parts]
        score = min((c.score for c in checks), default=1.0)
        return Grounding(all(c.supported for c in checks), round(score, 3), checks)

    def check_sentence(
        self, sentence: str, context: Sequence[str], question: str = ""
    ) -> SentenceCheck:
        if HEDGE.match(sentence.strip()):
            return SentenceCheck(sentence, True, 1.0, "no claim")
        joined = "\n".join(context)
        numbers = _numbers(sentence) - _numbers(question)
        windows = _windows(context)
        if numbers:
            # A number backs a claim only where the claim is made: "4 hours" is not supported
            # by a passage that says "240 hours" and, in the next sentence, "4 weeks". A claim
            # with one number must find it in one sentence; only claims joining several
            # numbers may rest on two neighbouring sentences.
            if len(numbers) == 1:
                windows = _windows(context, pairs=False)
            windows = [w for w in windows if numbers <= _numbers(w)]
            if not windows:
                missing = sorted(numbers - _numbers(joined))
                reason = (
                    f"numbers not in context: {missing}"
                    if missing
                    else f"numbers not stated with the claim: {sorted(numbers)}"
                )
                return SentenceCheck(sentence, False, 0.0, reason)
        names = (_names(sentence) | _leading_name(sentence)) - _names(question)
        unknown = {n for n in names if n not in joined.lower() and n not in question.lower()}
        if unknown:
            return SentenceCheck(sentence, False, 0.0, f"names not in context: {sorted(unknown)}")
        words = _stems(sentence)
        new = words - _stems(question) or words
        if not new:
            return SentenceCheck(sentence, True, 1.0, "no claim")
        scored = sorted(
            ((len(new & _stems(w)) / len(new), w) for w in windows), key=lambda t: -t[0]
        )
        if not scored:
            return SentenceCheck(sentence, False, 0.0, "no context")
        overlap = scored[0][0]
        strong = [w for o, w in scored if o >= self.threshold]
        if strong:
            negated = bool(NEGATION.search(sentence))
            # A bare answer ("director", "Cheltenham") states no clause a negation could flip.
            if len(sentence.split()) < CLAUSE_WORDS or any(
                bool(NEGATION.search(w)) == negated for w in strong
            ):
                return SentenceCheck(sentence, True, round(overlap, 3), "overlap")
            return SentenceCheck(sentence, False, 0.0, "negation differs from context")
        if self.embed is None or overlap < self.paraphrase_floor:
            return SentenceCheck(sentence, False, round(overlap, 3), "not stated in context")
        candidates = [w for o, w in scored[:4] if o >= self.paraphrase_floor]
        vectors = self.embed([sentence, *candidates])
        similar = max(_cosine(vectors[0], v) for v in vectors[1:])
        if similar >= self.similarity:
            return SentenceCheck(sentence, True, round(similar, 3), "paraphrase")
        score = round(max(overlap, similar - 0.3), 3)
        return SentenceCheck(sentence, False, score, "not stated in context")
