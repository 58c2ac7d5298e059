"""The one groundedness judge (rails/groundedness/checker.py): numbers count only where the claim
is made, and an answer must be said by the context, not just share its words."""

from __future__ import annotations

import pytest

from rails.groundedness.checker import GroundednessChecker

CONTEXT = [
    "You may request up to 240 hours of advanced sick leave. Requests are decided within "
    "4 weeks by your supervisor.",
    "You can have up to 24 credit hours accrued at any given time. Your leave balance shows "
    "96 hours use or lose at the end of the year.",
]
checker = GroundednessChecker()


def supported(answer: str, question: str) -> bool:
    return checker.check(answer, CONTEXT, question).supported


def test_a_number_from_another_sentence_does_not_back_a_claim():
    question = "How much advanced sick leave can an employee request?"
    assert supported("An employee can request up to 240 hours of advanced sick leave.", question)
    assert not supported("An employee can request up to 4 hours of advanced sick leave.", question)
    result = checker.check("You can accrue up to 96 credit hours.", CONTEXT, "credit hours cap?")
    assert not result.supported
    assert not result.sentences[0].reason.startswith("overlap")


def test_ranges_must_match_whole():
    context = ["Your business cards will arrive 7-10 business days after that."]
    question = "How long do business cards take?"
    assert not checker.check("They arrive in 1-2 business days.", context, question).supported
    assert checker.check("They arrive 7-10 business days later.", context, question).supported


def test_names_not_in_the_context_are_unsupported():
    question = "Who decides advanced sick leave requests?"
    assert supported("Your supervisor decides within 4 weeks.", question)
    assert not supported("The Acme Benefits Office decides within 4 weeks.", question)


# With MiniLM (packaged, offline): a word the context lacks must be explained by one it has,
# in place (token alignment), or the sentence must still say what a window says.
TRAUMA = [
    "R Adams Cowley was an American surgeon who founded the first shock trauma center in the "
    "United States. He is considered a pioneer of trauma medicine."
]
LEAVE = [
    "Comp time expires one year (26 pay periods) after it is earned. Credit hours cannot be "
    "converted to cash, unless you leave GSA."
]


@pytest.fixture(scope="module")
def minilm() -> GroundednessChecker:
    from ingest.embedder import MiniLMEmbedder

    return GroundednessChecker(MiniLMEmbedder().embed)


def test_a_paraphrase_in_other_words_passes(minilm):
    question = "Does comp time run out?"
    for answer in (
        "Comp time runs out a year after you earn it.",
        "Compensatory time lapses a year, or 26 pay periods, after you earn it.",
    ):
        result = minilm.check(answer, LEAVE, question)
        assert result.supported, result
    context = [
        "Project leads are adept at consulting, and are able to facilitate difficult "
        "conversations to work toward alignment."
    ]
    answer = (
        "Project leads are skilled consultants who can guide hard conversations toward agreement."
    )
    assert minilm.check(answer, context, "What makes a good project lead?").supported


def test_a_claim_with_a_content_word_the_context_lacks_is_flagged(minilm):
    question = "Who founded the first shock trauma center?"
    result = minilm.check("R Adams Cowley was also an astronaut.", TRAUMA, question)
    assert not result.supported
    assert "astronaut" in result.sentences[0].reason
    said = "R Adams Cowley was a surgeon who founded the first shock trauma center."
    assert minilm.check(said, TRAUMA, question).supported


def test_the_question_does_not_vouch_for_a_name_the_context_never_mentions(minilm):
    question = "Did Jim Smith found the first shock trauma center?"
    result = minilm.check("Jim Smith founded the first shock trauma center.", TRAUMA, question)
    assert not result.supported
    assert result.sentences[0].reason.startswith("names not in context")


def test_short_sentences_and_abbreviations_are_claims_of_their_own():
    context = ["Mr. Burns owns the power plant. Homer Simpson works there."]
    assert checker.check("Mr. Burns", context, "Who owns the plant?").supported
    result = checker.check("Homer works at the plant. Lisa's brother.", context, "Who works there?")
    assert [s.sentence for s in result.sentences] == [
        "Homer works at the plant.",
        "Lisa's brother.",
    ]
    assert not result.supported


def test_the_lexical_baseline_is_computed_beside_the_checker():
    from lab.eval.rails import _flagging, lexical_flag

    assert lexical_flag("Credit hours are paid in cash.", LEAVE)  # "paid" is not in it
    assert not lexical_flag("Credit hours expire after a year.", LEAVE)  # every word is
    cases = [
        {"answer": "Comp time expires one year after it is earned.", "context": LEAVE,
         "question": "When does comp time expire?", "label": "supported"},
        {"answer": "Comp time expires after five years.", "context": LEAVE,
         "question": "When does comp time expire?", "label": "hallucinated"},
        {"answer": "Comp time lapses a year after you earn it.", "context": LEAVE,
         "question": "When does comp time expire?", "label": "supported"},
    ]  # fmt: skip
    report = _flagging(checker, cases)
    assert {"precision", "recall", "f1", "ms_per_answer"} <= report.keys()
    baseline = report["lexical_baseline"]
    assert baseline["recall"] == 1.0  # "five", "years" are not in the passage...
    assert baseline["precision"] == 0.5  # ... nor "lapses": the paraphrase is flagged too
