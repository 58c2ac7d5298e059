"""Is each sentence of an answer backed by the retrieved chunks? A sentence is supported when
its names occur in the chunks (the question does not vouch for them), its numbers occur in the
chunk sentence (or pair of sentences) that states it, its negation agrees with that sentence,
and what it adds to the question is said there: most of it stated in one window; with an
embedder, every word the chunks lack must be explained by one they have (MiniLM token
alignment, as in BERTScore) or be stop-list wording, else the sentence as a whole must stay
near a window (a paraphrase) with at most half its words unexplained. The one groundedness
judge of railyard: the output rail, the unguarded graph's check and the evaluations all call
it."""

from __future__ import annotations

import itertools
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from ingest.text import STOPWORDS, content_words, stem
from ingest.text import sentences as split_sentences

Embed = Callable[[list[str]], list[list[float]]]
TokenEmbed = Callable[[list[str]], list[tuple[list[str], "np.ndarray"]]]
"""Texts -> per text, its word pieces and their unit vectors (one row per piece)."""

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
FRAGMENTS = frozenset("s t d m ll re ve don doesn didn isn aren wasn weren won wouldn shouldn "
                      "couldn haven hasn hadn can".split())  # fmt: skip
"""What a contraction leaves of itself once split at the apostrophe: no claim."""
ABBREVIATION = re.compile(r"(?:^|\s)[A-Z][a-z]{0,2}\.$")
INTERJECTION = re.compile(r"^\W*(no|yes)\b[,;:.!]?\s*", re.I)
CLAIM_WORDS = frozenset(
    """first last third less least more most few top bottom front full empty whole both either
    neither never none nothing nobody noone nor cannot no not""".split()
)
"""Stop words that still claim something (see _function_words)."""
MEMO_SIZE = 4096
_MEMO: OrderedDict[tuple, list[float]] = OrderedDict()
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


def _claims(answer: str) -> list[str]:
    """The answer's sentences, however short ("Hannibal Lecter's brother."), a piece that ends
    in an abbreviation ("Mr.", "Mark L.") joined to the next."""
    merged: list[str] = []
    for part in split_sentences(answer, min_words=1):
        if merged and ABBREVIATION.search(merged[-1]):
            merged[-1] += " " + part
        else:
            merged.append(part)
    return merged or ([answer.strip()] if answer.strip() else [])


def _windows_with_numbers(
    sentence: str, context: Sequence[str], question: str
) -> tuple[list[str], str | None]:
    """The windows a sentence may rest on, and why none can when it states numbers none has.
    A number backs a claim only where the claim is made: "4 hours" is not supported by a
    passage that says "240 hours" and, in the next sentence, "4 weeks". A claim with one
    number must find it in one sentence; only claims joining several numbers may rest on two
    neighbouring sentences."""
    numbers = _numbers(sentence) - _numbers(question)
    if not numbers:
        return _windows(context), None
    windows = _windows(context, pairs=len(numbers) > 1)
    windows = [w for w in windows if numbers <= _numbers(w)]
    if windows:
        return windows, None
    missing = sorted(numbers - _numbers("\n".join(context)))
    if missing:
        return [], f"numbers not in context: {missing}"
    return [], f"numbers not stated with the claim: {sorted(numbers)}"


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


def _words(text: str) -> dict[str, str]:
    """Content words by stem, each with one form of it as written; the pieces a contraction
    leaves ("doesn", "t", "ve") are not words."""
    out: dict[str, str] = {}
    for word in sorted(content_words(text)):
        if word not in FRAGMENTS:
            out.setdefault(stem(word), word)
    return out


def _stems(text: str) -> set[str]:
    return set(_words(text))


def _unknown_names(sentence: str, joined: str) -> list[str]:
    """Names of the sentence that the context does not say. The question does not vouch for a
    name: a context that never mentions an entity supports no claim about it. A hyphenated
    name is known when its capitalised parts are ("GSA-run"); a sentence's first word only
    counts in a bare answer ("Walmart", "Stanford University"): a longer sentence may start
    with a verb ("Set Google Calendar's default ...")."""
    found = {n.rstrip(".") for n in NAME.findall(sentence) if n not in COMMON}
    if len(sentence.split()) <= 3:
        found |= {n.capitalize() for n in _leading_name(sentence)}
    said = joined.lower()
    unknown = set()
    for name in found:
        parts = [p.lower() for p in name.split("-") if p[:1].isupper()]
        if name.lower() in said or ("-" in name and parts and all(p in said for p in parts)):
            continue
        unknown.add(name.lower())
    return sorted(unknown)


@cache
def _function_words() -> frozenset[str]:
    """spaCy's English stop words (after, every, keep, take, various ...) less those that carry
    a claim of their own: order and comparison (first, more, less ...), both/either and the
    negations (which NEGATION compares). A word of these missing from the context is wording,
    not a claim. Loaded on first use (importing spaCy takes seconds)."""
    try:
        from spacy.lang.en.stop_words import STOP_WORDS
    except ImportError:  # pragma: no cover - spaCy is a dependency
        return frozenset(STOPWORDS)
    return frozenset(STOP_WORDS) - CLAIM_WORDS


def minilm_tokens(embed: Embed) -> TokenEmbed | None:
    """Token vectors from the SentenceTransformer behind `embed` when it is a bound method of
    an embedder with a `model` (ingest.embedder.MiniLMEmbedder); None otherwise."""
    owner = getattr(embed, "__self__", None)
    if owner is None or not hasattr(type(owner), "model"):
        return None

    def tokens(texts: list[str]) -> list[tuple[list[str], np.ndarray]]:
        model = owner.model
        tokenizer = model.tokenizer
        encoded = model.encode(texts, output_value="token_embeddings", convert_to_numpy=False)
        out = []
        for text, vectors in zip(texts, encoded, strict=True):
            ids = tokenizer(text, truncation=True, max_length=model.max_seq_length)["input_ids"]
            matrix = vectors.detach().cpu().numpy()
            matrix = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)
            out.append((tokenizer.convert_ids_to_tokens(ids)[: len(matrix)], matrix))
        return out

    tokens.tokenize = lambda word: owner.model.tokenizer.tokenize(word)  # type: ignore[attr-defined]
    return tokens


def _alignment(tokens: TokenEmbed, claim: str, window: str, words: list[str]) -> dict[str, float]:
    """Each word's best cosine with a token of the window, its pieces' mean, where it stands
    in the claim (0 where its pieces are not found)."""
    (pieces, vectors), (_, window_vectors) = tokens([claim, window])
    best = (vectors @ window_vectors[1:-1].T).max(axis=1)  # less [CLS] and [SEP]
    tokenize = getattr(tokens, "tokenize", None)
    out = {}
    for word in words:
        wanted = tokenize(word) if tokenize else [word]
        n = len(wanted)
        out[word] = next(
            (float(best[i : i + n].mean()) for i in range(len(pieces) - n + 1)
             if pieces[i : i + n] == wanted),
            0.0,
        )  # fmt: skip
    return out


def _unprefixed(sentence: str) -> str:
    """The sentence less a leading "No," or "Yes,": the reply to a yes/no question, not a
    negation of the claim that follows."""
    return INTERJECTION.sub("", sentence, count=1)


def _vectors(embed: Embed, texts: list[str]) -> list[list[float]]:
    """MiniLM vectors, words and windows remembered across checks (the same chunks come back)."""
    missing = [t for t in dict.fromkeys(texts) if (embed, t) not in _MEMO]
    if missing:
        for text, vector in zip(missing, embed(missing), strict=True):
            _MEMO[(embed, text)] = vector
        while len(_MEMO) > MEMO_SIZE:
            _MEMO.popitem(last=False)
    for text in texts:
        _MEMO.move_to_end((embed, text))
    return [_MEMO[(embed, t)] for t in texts]


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
        similarity: float = 0.78,
        paraphrase: float = 0.7,
        unexplained: float = 0.5,
        synonym: float = 0.65,
        windows: int = 4,
        tokens: TokenEmbed | None = None,
    ) -> None:
        self.embed = embed
        self.tokens = tokens or (minilm_tokens(embed) if embed is not None else None)
        """Token vectors for aligning words (derived from a MiniLMEmbedder's `embed`)."""
        self.threshold = threshold
        """Share of a sentence's new words one passage must state."""
        self.similarity = similarity
        """MiniLM cosine (claim, nearest window) at which a sentence whose words the context
        all states or explains, but no window states most of, counts as a paraphrase."""
        self.paraphrase = paraphrase
        """MiniLM cosine (claim, nearest window) at which a sentence with words nothing in the
        context explains is still a paraphrase ..."""
        self.unexplained = unexplained
        """... as long as such words are at most this share of its new words."""
        self.synonym = synonym
        """MiniLM cosine (token in the claim, token in the window) at which a word the
        context lacks is explained by one it has."""
        self.windows = windows
        """Context windows (best word overlap first) a sentence is compared with."""

    def check(self, answer: str, context: Sequence[str], question: str = "") -> Grounding:
        answer = MARKER.sub("", answer)
        parts = _claims(answer)
        checks = [self.check_sentence(s, context, question) for s in parts]
        score = min((c.score for c in checks), default=1.0)
        return Grounding(all(c.supported for c in checks), round(score, 3), checks)

    def check_sentence(
        self, sentence: str, context: Sequence[str], question: str = ""
    ) -> SentenceCheck:
        if HEDGE.match(sentence.strip()):
            return SentenceCheck(sentence, True, 1.0, "no claim")
        joined = "\n".join(context)
        windows, reason = _windows_with_numbers(sentence, context, question)
        if reason:
            return SentenceCheck(sentence, False, 0.0, reason)
        unknown = _unknown_names(sentence, joined)
        if unknown:
            return SentenceCheck(sentence, False, 0.0, f"names not in context: {unknown}")
        words = _words(sentence)
        asked = _words(question)
        new = {s: w for s, w in words.items() if s not in asked} or words
        if not new:
            return SentenceCheck(sentence, True, 1.0, "no claim")
        scored = sorted(
            ((len(new.keys() & _stems(w)) / len(new), w) for w in windows), key=lambda t: -t[0]
        )
        if not scored:
            return SentenceCheck(sentence, False, 0.0, "no context")
        overlap = scored[0][0]
        said = _stems(joined)
        missing = (
            {s: w for s, w in new.items() if s not in said and w not in _function_words()}
            if self.embed is not None
            else {}
        )
        strong = [w for o, w in scored if o >= self.threshold]
        # Without an embedder nothing can explain a word the context lacks: most of the
        # sentence's new words stated in one window is the test. With one, every word the
        # context lacks must be near one of its words in meaning, or the sentence as a whole
        # near a window (a paraphrase).
        # A bare answer ("Mark L. Lester") relates nothing: its words need only be said.
        bare = len(sentence.split()) < CLAUSE_WORDS and new.keys() <= said
        if (strong or bare) and (self.embed is None or not missing):
            negated = bool(NEGATION.search(_unprefixed(sentence)))
            # A bare answer ("director", "Cheltenham") states no clause a negation could flip.
            if len(sentence.split()) < CLAUSE_WORDS or any(
                bool(NEGATION.search(w)) == negated for w in strong
            ):
                return SentenceCheck(sentence, True, round(overlap, 3), "overlap")
            return SentenceCheck(sentence, False, 0.0, "negation differs from context")
        if self.embed is None:
            return SentenceCheck(sentence, False, round(overlap, 3), "not stated in context")
        return self._by_meaning(sentence, [w for _, w in scored[: self.windows]], missing, new)

    def _by_meaning(
        self, sentence: str, candidates: list[str], missing: dict[str, str], new: dict[str, str]
    ) -> SentenceCheck:
        """A sentence its nearest windows do not state word for word: supported when it is
        near one of them in meaning (a paraphrase) and few of its words are unexplained."""
        overlap = max(len(new.keys() & _stems(w)) / len(new) for w in candidates)
        claim = _unprefixed(sentence) or sentence
        vectors = _vectors(self.embed, [claim, *candidates])
        similarities = [_cosine(vectors[0], v) for v in vectors[1:]]
        similar = max(similarities)
        nearest = candidates[similarities.index(similar)]
        unexplained = self._unexplained(claim, missing, nearest)
        share = len(unexplained) / len(new)
        # A sentence with no unexplained word never needs more than one with some.
        bar = self.paraphrase if unexplained else min(self.similarity, self.paraphrase)
        if similar >= bar and share <= self.unexplained:
            return SentenceCheck(sentence, True, round(similar, 3), "paraphrase")
        said_how = f"similarity {similar:.2f}, {len(unexplained)} of {len(new)} words unexplained"
        reason = (
            f"words not in context: {sorted(unexplained)} ({said_how})"
            if unexplained
            else f"not stated in context ({said_how})"
        )
        return SentenceCheck(sentence, False, round(max(overlap, similar - 0.3), 3), reason)

    def _unexplained(self, claim: str, missing: dict[str, str], window: str) -> list[str]:
        """The missing words that nothing in the window means: each word's MiniLM token vector
        in the claim against the window's token vectors (BERTScore's alignment), so "rehearse"
        is explained by "practice" where it stands, "astronaut" by nothing. Without token
        vectors, the words alone against the window's words."""
        if not missing:
            return []
        if self.tokens is not None:
            aligned = _alignment(self.tokens, claim, window, list(missing.values()))
            return sorted(w for w, a in aligned.items() if a < self.synonym)
        said = sorted(_words(window).values())
        asked = list(missing.values())
        if not said:
            return sorted(asked)
        vectors = _vectors(self.embed, asked + said)
        return sorted(
            word
            for i, word in enumerate(asked)
            if max(_cosine(vectors[i], v) for v in vectors[len(asked) :]) < self.synonym
        )
