"""The grounding check and the extractive answer."""

from __future__ import annotations

from graph.answering import extractive_answer, support

CONTEXT = (
    "You can have up to 24 credit hours accrued, at any given time. "
    "Your leave balance shows 96 hours use or lose at the end of the year."
)


def test_an_answer_backed_by_one_sentence_is_supported():
    q = "What is the cap on accrued credit hours?"
    assert support("You can accrue up to 24 credit hours.", q, CONTEXT) == 1.0


def test_a_number_from_another_sentence_is_not_support():
    q = "What is the cap on accrued credit hours?"
    assert support("The cap on accrued credit hours is 96.", q, CONTEXT) == 0.0


def test_an_answer_that_only_repeats_the_question_is_not_support():
    q = "What is the cap on accrued credit hours?"
    assert support("What is the cap on accrued credit hours?", q, CONTEXT) == 0.0


def test_ranges_must_match_whole():
    context = "Your business cards will arrive 7-10 business days after that."
    q = "How long do business cards take?"
    assert support("They arrive in 1-2 business days.", q, context) == 0.0
    assert support("They arrive 7-10 business days later.", q, context) >= 0.6


def test_quantity_questions_prefer_sentences_with_numbers():
    passages = [
        {"score": 0.7, "text": "You can request unpaid leave of less than four weeks at any time."},
        {"score": 0.6, "text": "FMLA entitles you to take up to 12 weeks of unpaid leave a year."},
    ]
    answer = extractive_answer("How long can FMLA let me take unpaid leave?", passages)
    assert answer == ("FMLA entitles you to take up to 12 weeks of unpaid leave a year.", 1)


def test_no_overlap_no_extractive_answer():
    passages = [{"score": 0.5, "text": "The office is near the Civic Center station."}]
    assert extractive_answer("Who signs travel vouchers?", passages) is None
