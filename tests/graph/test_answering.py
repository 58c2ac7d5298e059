"""Answers made of retrieved sentences: the question's parts, the candidates, the composed
answer in document order, and the lexical choice used when no model answers."""

from __future__ import annotations

from graph.answering import (
    Candidate,
    candidates,
    compose,
    extractive_answer,
    question_parts,
    with_neighbour,
)


def test_a_two_part_question_is_split_at_its_second_question_word():
    assert question_parts("What is the per diem, and how do I book a hotel?") == [
        "What is the per diem?",
        "how do I book a hotel?",
    ]
    assert question_parts("Where can I see my options? Who runs the 401k plan?") == [
        "Where can I see my options?",
        "Who runs the 401k plan?",
    ]


def test_a_list_of_things_stays_one_question():
    question = "What are the rules for vacation and sick leave?"
    assert question_parts(question) == [question]
    assert question_parts("How much PTO, roughly?") == ["How much PTO, roughly?"]


def test_quantity_questions_put_sentences_with_numbers_first():
    passages = [
        {"score": 0.7, "text": "You can request unpaid leave of less than four weeks at any time."},
        {"score": 0.6, "text": "FMLA entitles you to take up to 12 weeks of unpaid leave a year."},
    ]
    found = candidates("How long can FMLA let me take unpaid leave?", passages, limit=2)
    assert found[0].text.startswith("FMLA entitles you")


def test_the_answer_runs_in_document_order_and_cites_what_it_quotes():
    chosen = [
        Candidate(2, 0, "Book travel in Navan"),
        Candidate(0, 3, "Per diem is 75 percent on travel days."),
        Candidate(0, 1, "Per diem covers meals"),
        Candidate(0, 3, "Per diem is 75 percent on travel days."),
    ]
    text, cited = compose(chosen)
    assert text == (
        "Per diem covers meals. Per diem is 75 percent on travel days. Book travel in Navan."
    )
    assert cited == [0, 2]


def test_a_sentence_that_introduces_a_list_brings_the_next_line():
    passages = [{"text": "Annual leave accrues by years of service:\n- Under 3 years: 4 hours."}]
    chosen = Candidate(0, 0, "Annual leave accrues by years of service:")
    assert [c.text for c in with_neighbour(chosen, passages)] == [
        "Annual leave accrues by years of service:",
        "Under 3 years: 4 hours.",
    ]


def test_lexical_answer_covers_each_part():
    passages = [
        {"score": 0.7, "text": "Laptops are issued by the IT service desk on your first day."},
        {"score": 0.6, "text": "Your onboarding buddy meets you on the first Monday."},
    ]
    text, cited = extractive_answer(
        "Who issues laptops, and when does my onboarding buddy meet me?", passages
    )
    assert "IT service desk" in text and "first Monday" in text
    assert cited == [0, 1]


def test_no_overlap_no_extractive_answer():
    passages = [{"score": 0.5, "text": "The office is near the Civic Center station."}]
    assert extractive_answer("Who signs travel vouchers?", passages) is None


def test_a_message_of_several_sentences_is_split_into_its_requests():
    assert question_parts(
        "First work trip coming up. What's the cap on a hotel room? Also, I never got a "
        "government charge card - is that a problem?"
    ) == [
        "First work trip coming up. What's the cap on a hotel room?",
        "I never got a government charge card - is that a problem?",
    ]
    # A statement after the question that says enough is a request of its own.
    assert question_parts(
        "Who do I tell about a phishing email? Separately, my badge reader keeps throwing a "
        "certificate error."
    ) == [
        "Who do I tell about a phishing email?",
        "my badge reader keeps throwing a certificate error.",
    ]


def test_a_leading_condition_stays_with_its_question():
    question = "If I have worked fewer than three years, how much annual leave do I earn?"
    assert question_parts(question) == [question]
    assert question_parts("When is payday, and who runs payroll?") == [
        "When is payday?", "who runs payroll?",
    ]  # fmt: skip
    scene = "My kid has the flu. Do I have to use vacation to stay home with her?"
    assert question_parts(scene) == [scene]
