"""The semantic answer cache: answers stored by the MiniLM embedding of their question, found
again for a paraphrase at or above a cosine threshold.

- Scope: an entry only serves requests with the same scope (index version, prompt version and
  content hash), so re-ingestion or a prompt change invalidates it; and within the same
  partition (the project, and the request parameters that change the text), so one tenant's
  answer, or one planted with an odd `stop`, never serves another.
- Guards against false hits between near-identical questions: the two questions must carry the
  same numbers ("10 days" vs "15 days"), the same negations ("can I" vs "can't I", "paid" vs
  "unpaid"), the same direction words ("biggest" vs "smallest", "before" vs "after") and the
  same names ("Is Alice on leave?" vs "Is Bob on leave?": a personal answer is not shared).
- Bounded: least recently used entries go first; entries expire after a TTL.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ingest.embedder import Embedder

NUMBER_WORDS = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "fifteen", "twenty", "thirty", "forty", "fifty", "hundred", "thousand",
    "million", "first", "second", "third", "fourth", "fifth", "half", "quarter", "once", "twice",
}  # fmt: skip
NEGATIONS = {"not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "without",
             "cannot", "nowhere"}  # fmt: skip
# Words that set a direction or an extreme: swapping one for another ("biggest" for "smallest",
# "before" for "after") keeps the embedding close and flips the answer.
POLAR = {
    "more", "less", "fewer", "most", "least", "max", "maximum", "min", "minimum", "biggest",
    "largest", "smallest", "longest", "shortest", "highest", "lowest", "earliest", "latest",
    "oldest", "newest", "before", "after", "above", "below", "over", "under", "increase",
    "decrease", "first", "last", "start", "end", "allowed", "prohibited", "required", "optional",
}  # fmt: skip
# English words that open a question or request: a capitalised first word among them is not a
# name.
SENTENCE_STARTS = {
    "what", "what's", "whats", "how", "how's", "when", "where", "who", "whom", "whose", "why",
    "which", "can", "could", "do", "does", "did", "is", "are", "was", "were", "should", "shall",
    "may", "might", "must", "will", "would", "have", "has", "had", "am", "i", "i'm", "my", "we",
    "our", "the", "a", "an", "if", "please", "tell", "explain", "describe", "list", "give",
    "show", "in", "on", "for", "to", "at", "after", "before", "during", "as", "any", "there",
    "it", "this", "that", "these", "those", "so", "and", "but", "or", "hi", "hello",
    "hey", "thanks", "according", "under", "about", "with", "without", "from", "by",
}  # fmt: skip
NEGATING_PREFIXES = ("un", "non", "non-", "dis", "in", "im", "ir", "il")
WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+(?:[.,:]\d+)*")
NAME = re.compile(r"(?<![.?!]\s)(?<!^)\b[A-Z][\w'-]*")
"""A capitalised word that does not start a sentence: a name, a product, an acronym."""


def words_of(question: str) -> list[str]:
    return WORD.findall(question.lower().replace("’", "'"))


def signature(question: str) -> tuple[Counter, int, Counter]:
    """The numbers a question names, how many negations it has, and its direction words."""
    words = words_of(question)
    numbers = Counter(w for w in words if w[0].isdigit() or w in NUMBER_WORDS)
    negations = sum(w in NEGATIONS or w.endswith("n't") for w in words)
    return numbers, negations, Counter(w for w in words if w in POLAR)


def names_in(question: str) -> set[str]:
    """The names a question mentions: capitalised words past a sentence's first, and a first
    word that is not one a sentence commonly starts with ("Alice asks: ...")."""
    text = question.strip()
    names = {n.lower() for n in NAME.findall(text)}
    first = WORD.match(text.lower())
    if first and text[:1].isupper() and first.group() not in SENTENCE_STARTS:
        names.add(first.group())
    return names - {"i", "i'm", "i've", "i'd"}


def negated_by_prefix(a: set[str], b: set[str]) -> bool:
    """One question says "paid", the other "unpaid" (or "non-exempt" for "exempt", ...)."""
    for x, y in ((a, b), (b, a)):
        if any(p + w in y for w in x - y for p in NEGATING_PREFIXES):
            return True
    return False


@dataclass
class Lookup:
    hit: dict[str, Any] | None
    """The stored entry (answer, citations, passages, question) when it serves this request."""
    similarity: float | None = None
    """Cosine to the nearest stored question in scope, if any."""
    result: str = "miss"
    """hit | miss | guard_numbers | guard_negation | guard_direction | guard_names"""


PUBLIC = (
    "answer", "answer_mode", "citations", "passages", "prompt_version", "question",
    "completion_tokens",
)  # fmt: skip


class SharedAnswers(Protocol):
    """Answers stored by every replica, in the order they were stored."""

    def publish(
        self, scope: str, question: str, partition: str, answer: dict[str, Any],
        vector: np.ndarray, stored_at: float,
    ) -> None: ...  # fmt: skip

    def since(self, scope: str) -> list[dict[str, Any]]:
        """The records of `scope` not returned before (keyword arguments of `_insert`)."""
        ...


class SemanticCache:
    """Answers of the current scope only: an index or prompt change makes every earlier answer
    stale, so storing under a new scope forgets them."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        threshold: float = 0.9,
        max_entries: int = 10_000,
        ttl_s: float = 86_400,
        shared: SharedAnswers | None = None,
    ) -> None:
        self.embedder = embedder
        self.shared = shared
        """Where replicas publish their answers to each other (Redis), if they share."""
        self.threshold = threshold
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._scope: str | None = None
        self._entries: OrderedDict[str, dict[str, Any]] = OrderedDict()
        """By question, least recently used first."""
        self._rows: tuple[list[str], np.ndarray, np.ndarray] | None = None
        """The questions, their vectors as one matrix and their partitions; rebuilt after a
        change."""
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, question: str, scope: str, partition: str = "") -> Lookup:
        vector = np.asarray(self.embedder.embed([question])[0], dtype=np.float32)
        if self.shared is not None:
            for record in self.shared.since(scope):
                self._insert(scope, **record)
        with self._lock:
            if scope != self._scope or not self._entries:
                return Lookup(None)
            if self._rows is None:
                keys = list(self._entries)
                self._rows = (
                    keys,
                    np.stack([self._entries[k]["vector"] for k in keys]),
                    np.array([self._entries[k]["partition"] for k in keys], dtype=object),
                )
            questions, matrix, partitions = self._rows
            similarities = np.where(partitions == partition, matrix @ vector, -np.inf)
            best = int(np.argmax(similarities))
            if similarities[best] == -np.inf:
                return Lookup(None)
            similarity, key = float(similarities[best]), questions[best]
            entry = self._entries[key]
            if similarity < self.threshold:
                return Lookup(None, similarity)
            if time.time() - entry["stored_at"] > self.ttl_s:
                self._remove(key)
                return Lookup(None, similarity)
            numbers, negations, polar = signature(question)
            if numbers != entry["numbers"]:
                return Lookup(None, similarity, "guard_numbers")
            words = set(words_of(question))
            if negations != entry["negations"] or negated_by_prefix(words, entry["words"]):
                return Lookup(None, similarity, "guard_negation")
            if polar != entry["polar"]:
                return Lookup(None, similarity, "guard_direction")
            if names_in(question) != entry["names"]:
                return Lookup(None, similarity, "guard_names")
            self._entries.move_to_end(key)
            return Lookup({k: entry.get(k) for k in PUBLIC}, similarity, "hit")

    def store(self, question: str, scope: str, answer: dict[str, Any], partition: str = "") -> None:
        """Remember `answer` (answer, answer_mode, citations, passages, prompt_version,
        completion_tokens) for `partition`, here and on the replicas that share it."""
        vector = np.asarray(self.embedder.embed([question])[0], dtype=np.float32)
        stored_at = time.time()
        if self._insert(scope, question, partition, answer, vector, stored_at) and self.shared:
            self.shared.publish(scope, question, partition, answer, vector, stored_at)

    def _insert(
        self,
        scope: str,
        question: str,
        partition: str,
        answer: dict[str, Any],
        vector: np.ndarray,
        stored_at: float,
    ) -> bool:
        """False when the question was already stored for this partition."""
        numbers, negations, polar = signature(question)
        key = f"{partition}\n{question}"
        with self._lock:
            if scope != self._scope:
                self._scope, self._entries, self._rows = scope, OrderedDict(), None
            if key in self._entries:
                return False
            self._entries[key] = {
                **{k: answer.get(k) for k in PUBLIC}, "question": question, "vector": vector,
                "numbers": numbers, "negations": negations, "polar": polar,
                "words": set(words_of(question)), "names": names_in(question),
                "partition": partition, "stored_at": stored_at,
            }  # fmt: skip
            self._rows = None
            while len(self._entries) > self.max_entries:
                self._remove(next(iter(self._entries)))
        return True

    def _remove(self, question: str) -> None:
        self._entries.pop(question, None)
        self._rows = None
