"""Whether the retrieved passages answer the question, as a calibrated probability: a logistic
model over signals that transfer between corpora and wordings (the model's scores of the best
sentences, their gap, the question's similarity to the chosen sentence and to the passages
relative to the rest of the corpus, whether dense and BM25 search agree, names and numbers).
It is fitted by `railyard train answerability` (lab/train/answerability.py) on the 18F dev
questions and negatives made without the validation sets, and read from answerability.json
beside this file, which also holds the two thresholds of the three outcomes."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from ingest.text import content_words, stem

MODEL_FILE = Path(__file__).with_name("answerability.json")
FEATURES = (
    "best_gain", "gap", "similarity", "top_cosine", "lift", "agree", "coverage",
    "unexplained", "number_missing",
)  # fmt: skip
Decision = Literal["answer", "unsure", "none"]


@dataclass(frozen=True)
class Signals:
    """What the select step knows about one question part and its best sentence."""

    best_gain: float
    """How much better the best sentence explains the question than no passage (the model's
    mean log-probability per question token)."""
    second_gain: float
    """The same for the runner-up (another sentence of any passage)."""
    similarity: float
    """MiniLM cosine of the question and the chosen sentence."""
    top_cosine: float
    """MiniLM cosine of the question and the best retrieved chunk."""
    baseline: float | None
    """The question's mean cosine to the chunks just past the retrieved ones."""
    agree: bool
    """The best chunk is near the top of both the dense and the BM25 ranking."""
    coverage: float
    """Share of the question's content words (stemmed) found in the passages."""
    unexplained: bool
    """A name in the question stays improbable after the sentence and no passage has it."""
    number_missing: bool
    """A quantity is asked for and the chosen sentence states no number."""

    def vector(self) -> dict[str, float]:
        baseline = self.top_cosine if self.baseline is None else self.baseline
        return {
            "best_gain": self.best_gain,
            "gap": self.best_gain - self.second_gain,
            "similarity": self.similarity,
            "top_cosine": self.top_cosine,
            "lift": self.top_cosine - baseline,
            "agree": float(self.agree),
            "coverage": self.coverage,
            "unexplained": float(self.unexplained),
            "number_missing": float(self.number_missing),
        }


@dataclass(frozen=True)
class Answerability:
    """The fitted model: standardised features, weights, and the outcome thresholds."""

    means: dict[str, float]
    scales: dict[str, float]
    weights: dict[str, float]
    intercept: float
    answer_at: float
    """Probability at or above which the answer is given as the handbook's."""
    unsure_at: float
    """Probability at or above which the closest passage is offered (below: "I don't know")."""

    def probability(self, features: dict[str, float]) -> float:
        z = self.intercept + sum(
            self.weights[name] * (features[name] - self.means[name]) / (self.scales[name] or 1.0)
            for name in FEATURES
        )
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def decide(
        self, probability: float, answer_at: float | None = None, unsure_at: float | None = None
    ) -> Decision:
        answer_at = self.answer_at if answer_at is None else answer_at
        unsure_at = self.unsure_at if unsure_at is None else unsure_at
        if probability >= answer_at:
            return "answer"
        return "unsure" if probability >= min(unsure_at, answer_at) else "none"

    @classmethod
    def from_dict(cls, spec: dict) -> Answerability:
        return cls(
            means=spec["means"], scales=spec["scales"], weights=spec["weights"],
            intercept=spec["intercept"], answer_at=spec["answer_at"], unsure_at=spec["unsure_at"],
        )  # fmt: skip


@cache
def load(path: Path = MODEL_FILE) -> Answerability:
    return Answerability.from_dict(json.loads(Path(path).read_text()))


def coverage(question: str, passages: list[dict]) -> float:
    """Share of the question's content words (stemmed) that the passages contain."""
    wanted = {stem(w) for w in content_words(question)}
    if not wanted:
        return 0.0
    said = {stem(w) for p in passages for w in content_words(f"{p.get('heading', '')} {p['text']}")}
    return len(wanted & said) / len(wanted)


def agree(passages: list[dict], within: int = 3) -> bool:
    """The best passage is among the first `within` of both the dense and the BM25 ranking."""
    if not passages:
        return False
    top = passages[0]
    ranks = (top.get("dense_rank"), top.get("text_rank"))
    return all(r is not None and r <= within for r in ranks)
