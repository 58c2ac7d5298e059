"""Sentences of a text, shared by answering (candidate sentences), the groundedness rail (claims
and the context they rest on) and the retrieved-content rail (one verdict per sentence)."""

from __future__ import annotations

import re

SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[*])|\n+")
# A single line break inside a paragraph is a soft wrap, unless a list item, heading or table
# row starts on the next line.
SOFT_WRAP = re.compile(r"(?<!\n)[ \t]*\n(?![ \t]*(?:\n|[-*+] |\d+[.)] |#|\|))")


def sentences(text: str, min_words: int = 4) -> list[str]:
    """The sentences, list items and lines of `text` with at least `min_words` words."""
    parts = (s.strip(" -*#>\t") for s in SENTENCE.split(SOFT_WRAP.sub(" ", text)))
    return [s for s in parts if len(s.split()) >= min_words]
