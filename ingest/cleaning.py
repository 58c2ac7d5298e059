"""Text cleaning: template tags, HTML comments and tags, link targets, runs of whitespace."""

from __future__ import annotations

import re
import unicodedata

CLEANING_VERSION = 1
"""Bump when `clean_text` changes what it produces."""
TEMPLATE_TAG = re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.S)
HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
SPACES = re.compile(r"[ \t\u00a0]+")
BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = TEMPLATE_TAG.sub(" ", text)
    text = HTML_COMMENT.sub(" ", text)
    text = HTML_TAG.sub(" ", text)
    text = LINK.sub(r"\1", text)  # keep a link's words, drop its URL
    text = SPACES.sub(" ", text)
    lines = [line.rstrip() for line in text.splitlines()]
    return BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
