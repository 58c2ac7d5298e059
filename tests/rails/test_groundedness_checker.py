"""The one groundedness judge (rails/groundedness/checker.py): numbers count only where the claim
is made, and an answer must be said by the context, not just share its words."""

from __future__ import annotations

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
