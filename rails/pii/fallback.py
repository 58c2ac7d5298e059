"""What the paid fallback is sent: besides the PII the input rail masks for every model, names
and places (spaCy's NER through Presidio) in the conversation's turns become placeholders, and
the fallback's answer has them put back. A name the request's own context holds (the retrieved
passages and the system prompt travel in the same request) is left as it is: masking it hides
nothing and costs the answer its subject. The local model is sent the turns unchanged."""

from __future__ import annotations

import re
from typing import Any

from rails.pii.detector import PLACEHOLDER, Masker

TURNS = ("user", "assistant")
CONTEXT = ("system", "developer")


def mask_turns(
    messages: list[dict[str, Any]], entities: tuple[str, ...]
) -> tuple[list[dict[str, Any]], Masker]:
    """The messages with `entities` masked in the user's and assistant's turns, and the masker
    that restores them (placeholders already in the turns, the input rail's, are kept)."""
    context = "\n".join(_text(m) for m in messages if m.get("role") in CONTEXT)
    given = {p for m in messages for p in PLACEHOLDER.findall(_text(m))}
    masker = Masker({f"<{kind}_{n}>": f"<{kind}_{n}>" for kind, n in given})

    said = f" {_words(context)} "

    def in_context(value: str) -> bool:
        # Compared word by word: punctuation, line breaks and a datamarked passage's markers
        # (graph/spotlight.py) between the words do not hide a name the passages hold.
        return f" {_words(value)} " in said

    masked = []
    for message in messages:
        if message.get("role") in TURNS and isinstance(message.get("content"), str):
            content = masker.mask(message["content"], entities, keep=in_context)
            message = message | {"content": content}
        masked.append(message)
    return masked, masker


def _words(text: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", text.casefold()))


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else ""
