"""Text helpers shared by ingestion, answering and the rails: words and light stems (how a
question's terms match a sentence), sentences (answer candidates, the groundedness rail's claims,
the retrieved-content rail's verdicts), and the marker left where the retrieved-content rail
removed text."""

from __future__ import annotations

import re

REMOVED = "[removed: text addressed to the assistant]"
"""What replaces retrieved text addressed to the assistant (rails/retrieval); never quoted."""

WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")
STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being
    it its this that these those there here i you he she we they me my your our their what which
    who whom whose when where why how do does did can could should would will shall may might
    must not no yes so than then too very just also about into over under up down out any all
    some such each more most other own same only have has had having am get gets got""".split()
)
# Longest first; a stem keeps at least four letters (accrual/accrued -> accru, expiry -> expir).
SUFFIXES = ("ational", "ations", "ation", "ments", "ment", "ings", "ing", "ies", "ied", "ily",
            "ed", "es", "al", "ly", "y", "s", "e")  # fmt: skip


NUMBER_WORDS = {
    word: str(value)
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
} | {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "ninety": "90"}


def content_words(text: str) -> set[str]:
    """Lower-case words less stopwords; number words become digits ("fifteen" -> "15")."""
    return {NUMBER_WORDS.get(w, w) for w in WORD.findall(text.lower()) if w not in STOPWORDS}


def stem(word: str) -> str:
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def terms(text: str) -> set[str]:
    """Stems of the content words of `text`."""
    return {stem(w) for w in content_words(text)}


SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[*])|\n+")
# A single line break inside a paragraph is a soft wrap, unless a list item, heading or table
# row starts on the next line.
SOFT_WRAP = re.compile(r"(?<!\n)[ \t]*\n(?![ \t]*(?:\n|[-*+] |\d+[.)] |#|\|))")


def sentences(text: str, min_words: int = 4) -> list[str]:
    """The sentences, list items and lines of `text` with at least `min_words` words."""
    parts = (s.strip(" -*#>\t") for s in SENTENCE.split(SOFT_WRAP.sub(" ", text)))
    return [s for s in parts if len(s.split()) >= min_words]
