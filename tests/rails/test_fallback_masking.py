"""What the paid fallback is sent (issue 28): names and places in the turns become placeholders
(Presidio with spaCy's NER, the packaged en_core_web_sm), a name the request's own context holds
is left alone, placeholders the input rail gave out are kept, and a streamed answer has them put
back even when a placeholder is split across chunks."""

from __future__ import annotations

from rails.pii.fallback import mask_turns
from serving.llm.egress import Restoring

ENTITIES = ("PERSON", "LOCATION")


def test_names_and_places_in_the_turns_are_masked_and_restored():
    messages = [
        {"role": "system", "content": "Context (leave.md): Employees earn four hours."},
        {"role": "user", "content": "I am Priya Raman from Lisbon. Write to <EMAIL_ADDRESS_1>."},
        {"role": "assistant", "content": "Hello Priya Raman."},
        {"role": "user", "content": "Can Maria Garcia in Nairobi take leave too?"},
    ]  # fmt: skip
    masked, masker = mask_turns(messages, ENTITIES)
    text = " ".join(m["content"] for m in masked)
    for value in ("Priya", "Lisbon", "Maria", "Nairobi"):
        assert value not in text
    assert masked[0] == messages[0]  # the context is sent as it is
    assert masked[2]["content"] == "Hello <PERSON_1>."  # one value, one placeholder
    assert "<EMAIL_ADDRESS_1>" in masked[1]["content"]  # the input rail's, kept
    assert masker.restore(masked[3]["content"]) == messages[3]["content"]
    assert masker.restore("<EMAIL_ADDRESS_1>") == "<EMAIL_ADDRESS_1>"  # restored by the graph


def test_a_name_the_context_holds_is_not_masked():
    messages = [
        {"role": "system", "content": "Context (ceo.md): Dana Whitfield founded the company."},
        {"role": "user", "content": "What did dana whitfield found? Ask Omar Haddad."},
    ]
    masked, _ = mask_turns(messages, ENTITIES)
    assert "dana whitfield" in masked[1]["content"] and "Omar" not in masked[1]["content"]


def test_a_placeholder_split_across_chunks_is_restored():
    restoring = Restoring(_restore)
    chunks = ["Ask <PER", "SON_1", "> about 3 < 4 and <b", "r> tags"]
    out = "".join(restoring.feed(chunk) for chunk in chunks) + restoring.flush()
    assert out == "Ask Priya Raman about 3 < 4 and <br> tags"


def _restore(text: str) -> str:
    return text.replace("<PERSON_1>", "Priya Raman")
