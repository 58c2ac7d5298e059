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

from dataclasses import dataclass

from graph.answering import (
    Candidate,
    candidates,
    has_number,
    question_parts,
    wants_quantity,
    with_neighbour,
)
from graph.protocols import Generation, ScoreRequest, ScoringModel

PROMPT = "Passage: {text}\nPlease write a question based on this passage.\nQuestion:"
NO_PASSAGE = PROMPT.format(text="(none)")
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


def _passage_text(candidate: Candidate) -> str:
    heading = candidate.heading.strip()
    return f"({heading}) {candidate.text}" if heading else candidate.text


async def choose(
    scorer: ScoringModel,
    question: str,
    passages: list[dict],
    *,
    limit: int,
    request_id: str = "",
) -> Choice:
    """Score every part's candidates in one scoring request and keep each part's best."""
    parts = question_parts(question)
    pools = [candidates(part, passages, limit) for part in parts]
    pairs: list[tuple[str, str]] = []
    for part, pool in zip(parts, pools, strict=True):
        pairs.append((NO_PASSAGE, f" {part}"))
        pairs += [(PROMPT.format(text=_passage_text(c)), f" {part}") for c in pool]
    scores = await scorer.score(ScoreRequest(pairs, request_id=request_id))
    chosen: list[Candidate] = []
    confidences, scored, unexplained, at = [], [], [], 0
    for part, pool in zip(parts, pools, strict=True):
        base, base_tokens = scores.logprobs[at], scores.tokens[at]
        values, tokens = scores.logprobs[at + 1 : at + 1 + len(pool)], scores.tokens[at + 1 :]
        at += 1 + len(pool)
        if not pool:
            confidences.append(float("-inf"))
            continue
        ranked = sorted(
            zip((v - base for v in values), range(len(pool)), strict=True), key=lambda t: -t[0]
        )
        if wants_quantity(part):
            # A quantity is asked for: the best sentence that states one, if any does.
            ranked = [r for r in ranked if has_number(pool[r[1]].text)] or ranked
        best_gain, index = ranked[0]
        best = pool[index]
        confidences.append(best_gain)
        unexplained += _unexplained_names(tokens[index], base_tokens)
        chosen += with_neighbour(best, passages)
        close = [pool[i] for g, i in ranked[1:] if best_gain - g <= CLOSE]
        chosen += [c for c in close if _beside(c, best)]
        scored += [{"passage": pool[i].passage, "position": pool[i].position, "gain": round(g, 3)}
                   for g, i in ranked]  # fmt: skip
    # A name the passages do mention is context the chosen sentence leaves out ("the BART
    # station" beside a fare table), not something the documents never speak of.
    said = " ".join(f"{p.get('heading', '')} {p['text']}" for p in passages).lower()
    unexplained = [n for n in unexplained if n.lower() not in said]
    return Choice(chosen, round(min(confidences), 3), scores.generation, scored, unexplained)


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
