"""The calibrated answerability model (graph/answerability.json, fitted by `railyard train
answerability`): three outcomes from one probability, and signals read the same way on any
corpus."""

from __future__ import annotations

from graph.answerability import FEATURES, Answerability, Signals, agree, coverage, load

PASSAGES = [
    {"text": "Employees earn four hours of sick leave every pay period.", "heading": "Sick leave",
     "dense_rank": 1, "text_rank": 2},
    {"text": "Laptops are issued by the IT service desk.", "dense_rank": 3, "text_rank": None},
]  # fmt: skip


def signals(**changes) -> Signals:
    base = dict(
        best_gain=2.0, second_gain=0.5, similarity=0.7, top_cosine=0.6, baseline=0.2,
        agree=True, coverage=1.0, unexplained=False, number_missing=False,
    )  # fmt: skip
    return Signals(**(base | changes))


def test_the_committed_model_reads_every_signal_and_has_ordered_thresholds():
    model = load()
    assert set(model.weights) == set(FEATURES) == set(model.means) == set(model.scales)
    assert 0.0 < model.unsure_at <= model.answer_at < 1.0


def test_a_well_supported_answer_scores_above_one_the_passages_do_not_support():
    model = load()
    strong = model.probability(signals(best_gain=3.0, similarity=0.8, top_cosine=0.75).vector())
    weak = signals(best_gain=0.1, second_gain=0.1, similarity=0.1, top_cosine=0.15,
                   baseline=0.12, agree=False, coverage=0.0, unexplained=True)  # fmt: skip
    assert strong > model.probability(weak.vector())
    assert model.decide(strong) == "answer"
    assert model.decide(model.probability(weak.vector())) == "none"


def test_three_outcomes_from_one_probability():
    model = Answerability(
        means={f: 0.0 for f in FEATURES}, scales={f: 1.0 for f in FEATURES},
        weights={f: 0.0 for f in FEATURES}, intercept=0.0, answer_at=0.6, unsure_at=0.3,
    )  # fmt: skip
    assert model.probability(signals().vector()) == 0.5
    assert [model.decide(p) for p in (0.7, 0.6, 0.5, 0.3, 0.29)] == [
        "answer", "answer", "unsure", "unsure", "none",
    ]  # fmt: skip
    # Served settings override the fitted thresholds.
    assert model.decide(0.5, answer_at=0.4) == "answer"
    assert model.decide(0.5, answer_at=50.0, unsure_at=50.0) == "none"


def test_signals_are_relative_to_the_corpus_and_the_question():
    vector = signals(top_cosine=0.5, baseline=0.3).vector()
    assert abs(vector["lift"] - 0.2) < 1e-9 and abs(vector["gap"] - 1.5) < 1e-9
    assert coverage("Do employees earn sick leave?", PASSAGES) == 1.0
    assert coverage("Is there pet insurance?", PASSAGES) == 0.0
    assert agree(PASSAGES) and not agree(PASSAGES[1:]) and not agree([])
