"""The model chooses the sentences that answer: each candidate sentence is scored by how well it
explains the question (the mean log-probability of the question's tokens after the sentence,
minus the same without any sentence: pointwise mutual information, as in unsupervised passage
re-ranking, Sachan et al. 2022). A small base model is good at this, where it is poor at writing
answers; the best sentences, with their neighbours where they need them, are the answer.

Whether the documents answer the question at all is read from the same scores: how much the
best sentence explains the question (its confidence), and whether a name the question asks
about (a capitalised word: a place, product, company) stays as improbable after the best
sentence as before it while no passage mentions it, i.e. the documents speak of something
else."""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from graph.answerability import Signals, agree, coverage
from graph.answering import (
    Candidate,
    candidates,
    has_number,
    question_parts,
    wants_quantity,
    with_neighbour,
)
from graph.prompt import SCORE_TEMPLATE
from graph.protocols import Generation, ScoreRequest, ScoringModel
from ingest.text import sentences

Embed = Callable[[list[str]], list[list[float]]]

PROMPT = SCORE_TEMPLATE
"""The scoring prompt of prompt files that do not name their own (`score_template`)."""
CLOSE = 0.25
"""A second sentence of the same passage joins the best one when it scores within this much
of it and stands beside it (the answer then runs on in document order)."""
NAME_LOGPROB = -6.0
NAME_GAIN = 2.0
"""A name in the question is unexplained when its log-probability after the best sentence is
below NAME_LOGPROB and the sentence raised it by less than NAME_GAIN (nats, over its tokens),
and the passages do not mention it."""


@dataclass(frozen=True)
class Choice:
    chosen: list[Candidate]
    """The sentences of the answer (with neighbours), not yet in document order."""
    confidence: float
    """The weakest part's best score: how much better its best sentence explains that part
    of the question than no sentence (mean log-probability per token)."""
    generation: Generation
    """What scoring cost: route, model, tokens, price, latency."""
    scored: list[dict]
    """Each candidate's score, for the trace."""
    unexplained: list[str]
    """Names in the question the chosen sentences do not explain (then nothing answers)."""
    signals: list[Signals] = field(default_factory=list)
    """Per question part: what the answerability model reads (graph/answerability.py)."""


def _passage_text(candidate: Candidate) -> str:
    heading = candidate.heading.strip()
    return f"({heading}) {candidate.text}" if heading else candidate.text


class _Vectors:
    """Sentence vectors already computed: the same chunks come back for many questions, so a
    request embeds only its question parts and the sentences it has not seen."""

    def __init__(self, size: int = 8192) -> None:
        self.size = size
        self._known: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, embed: Embed, parts: list[str], texts: list[str]) -> list[list[float]]:
        with self._lock:
            found = {t: self._known[t] for t in texts if t in self._known}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        vectors = embed([*parts, *missing])
        found |= dict(zip(missing, vectors[len(parts) :], strict=True))
        with self._lock:
            self._known.update((t, found[t]) for t in missing)
            while len(self._known) > self.size:
                self._known.popitem(last=False)
        return vectors[: len(parts)] + [found[t] for t in texts]


_vectors = _Vectors()


async def _similarities(
    embed: Embed | None, parts: list[str], passages: list[dict]
) -> list[dict[tuple[int, int], float]] | None:
    """Each part's MiniLM cosine to every sentence of the passages, or None."""
    if embed is None:
        return None
    keys, texts = [], []
    for index, passage in enumerate(passages):
        for position, sentence in enumerate(sentences(passage["text"], min_words=3)):
            keys.append((index, position))
            texts.append(sentence)
    vectors = await asyncio.to_thread(_vectors.embed, embed, parts, texts)
    asked, said = vectors[: len(parts)], vectors[len(parts) :]
    return [
        dict(zip(keys, (sum(a * b for a, b in zip(q, v, strict=True)) for v in said), strict=True))
        for q in asked
    ]


async def choose(
    scorer: ScoringModel,
    question: str,
    passages: list[dict],
    *,
    limit: int,
    request_id: str = "",
    embed: Embed | None = None,
    template: str = PROMPT,
    context: str = "",
) -> Choice:
    """Score every part's candidates in one scoring request and keep each part's best. With
    `context` (the earlier turns a follow-up leans on), the question is one part, candidates
    are found for the context and the question together, and the model scores the question's
    tokens after the context: how much a sentence explains the follow-up, in its conversation."""
    parts = [question] if context else question_parts(question)
    found_by = [f"{context} {part}".strip() for part in parts]
    similarity = await _similarities(embed, found_by, passages)
    pools = [
        candidates(text, passages, limit, similarity[i] if similarity else None)
        for i, text in enumerate(found_by)
    ]
    pairs = _pairs(parts, pools, template, f" {context}" if context else "")
    scores = await scorer.score(ScoreRequest(pairs, request_id=request_id))
    chosen: list[Candidate] = []
    confidences, scored, unexplained, signals, at = [], [], [], [], 0
    for number, (part, pool) in enumerate(zip(parts, pools, strict=True)):
        base, base_tokens = scores.logprobs[at], scores.tokens[at]
        values, tokens = scores.logprobs[at + 1 : at + 1 + len(pool)], scores.tokens[at + 1 :]
        at += 1 + len(pool)
        if not pool:
            confidences.append(float("-inf"))
            continue
        ranked, number_missing = _ranked(part, pool, [v - base for v in values])
        best_gain, index = ranked[0]
        best = pool[index]
        confidences.append(best_gain)
        names = _unexplained_names(tokens[index], base_tokens)
        unexplained += names
        picked = with_neighbour(best, passages)
        close = [pool[i] for g, i in ranked[1:] if best_gain - g <= CLOSE]
        picked += [c for c in close if _beside(c, best)]
        chosen += picked
        scored += [{"passage": pool[i].passage, "position": pool[i].position, "gain": round(g, 3)}
                   for g, i in ranked]  # fmt: skip
        similar = (similarity[number] if similarity else {}).get((best.passage, best.position))
        signals.append(_signals(part, ranked, similar, passages, names, number_missing))
    unexplained = _said_nowhere(unexplained, passages)
    return Choice(
        chosen, round(min(confidences), 3), scores.generation, scored, unexplained, signals
    )


def _signals(
    part: str,
    ranked: list[tuple[float, int]],
    similarity: float | None,
    passages: list[dict],
    names: list[str],
    number_missing: bool,
) -> Signals:
    """What the answerability model reads of one part's best sentence."""
    best_gain = ranked[0][0]
    return Signals(
        best_gain=best_gain,
        second_gain=ranked[1][0] if len(ranked) > 1 else best_gain - 1.0,
        similarity=similarity or 0.0,
        top_cosine=float(passages[0].get("score") or 0.0),
        baseline=None,
        agree=agree(passages),
        coverage=coverage(part, passages),
        unexplained=bool(_said_nowhere(names, passages)),
        number_missing=number_missing,
    )


def _pairs(
    parts: list[str], pools: list[list[Candidate]], template: str, after: str
) -> list[tuple[str, str]]:
    """What is scored: each part after no passage (its baseline), then after each candidate."""
    pairs: list[tuple[str, str]] = []
    for part, pool in zip(parts, pools, strict=True):
        pairs.append((template.format(text="(none)") + after, f" {part}"))
        pairs += [(template.format(text=_passage_text(c)) + after, f" {part}") for c in pool]
    return pairs


def _ranked(
    part: str, pool: list[Candidate], gains: list[float]
) -> tuple[list[tuple[float, int]], bool]:
    """The pool's (gain, index) best first, and whether a quantity is asked for that no
    candidate states: when one is asked for, the sentences that state one come first."""
    ranked = sorted(zip(gains, range(len(pool)), strict=True), key=lambda t: -t[0])
    if not wants_quantity(part):
        return ranked, False
    with_number = [r for r in ranked if has_number(pool[r[1]].text)]
    return with_number + [r for r in ranked if r not in with_number], not with_number


def _said_nowhere(names: list[str], passages: list[dict]) -> list[str]:
    """A name the passages do mention is context the chosen sentence leaves out ("the BART
    station" beside a fare table), not something the documents never speak of."""
    said = " ".join(f"{p.get('heading', '')} {p['text']}" for p in passages).lower()
    return [n for n in names if n.lower() not in said]


def _words(tokens: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Tokens joined into words (a token starting with a space starts a word), each with the
    sum of its tokens' log-probabilities."""
    words: list[list] = []
    for token, logprob in tokens:
        if token.startswith(" ") or not words:
            words.append([token.strip(), logprob])
        else:
            words[-1][0] += token
            words[-1][1] += logprob
    return [(w, lp) for w, lp in words if w]


def _unexplained_names(
    tokens: list[tuple[str, float]], without: list[tuple[str, float]]
) -> list[str]:
    """Capitalised words after the first (names: a place, a product, a company) that stay
    improbable after the sentence: the sentence is about another place or thing."""
    with_sentence, alone = _words(tokens), _words(without)
    if len(with_sentence) != len(alone):
        return []
    names = []
    for i, ((word, logprob), (_, before)) in enumerate(zip(with_sentence, alone, strict=True)):
        name = word.strip("?,.;:!'\"()")
        if i == 0 or len(name) < 2 or not name[0].isupper():
            continue  # a question's first word is capitalised anyway
        if logprob < NAME_LOGPROB and logprob - before < NAME_GAIN:
            names.append(name)
    return names


def _beside(a: Candidate, b: Candidate) -> bool:
    return a.passage == b.passage and abs(a.position - b.position) == 1
