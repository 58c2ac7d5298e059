"""Heading-aware, token-bounded chunking with overlap.

Sections follow Markdown headings (each chunk keeps its heading path); inside a section,
paragraphs are packed up to `max_tokens`, long paragraphs are split at sentences, and each new
chunk starts with the last `overlap` tokens' worth of units from the one before.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator

from ingest.documents import Chunk, CleanDocument

CHUNKER_VERSION = 2
"""Bump when chunking changes what it produces (2: token counts without padding)."""
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")


def chunk_id(root: str, source: str, content_hash: str, position: int) -> str:
    """Stable for a document version: re-writing the same version upserts the same rows."""
    where = hashlib.sha1(f"{root}\0{source}".encode()).hexdigest()[:12]
    return f"{where}-{content_hash[:12]}-{position:04d}"


def sections(text: str, title: str) -> Iterator[tuple[str, str]]:
    """(heading path, body) for each heading-delimited section."""
    path: list[tuple[int, str]] = [(0, title)] if title else []
    body: list[str] = []
    for line in text.splitlines():
        match = HEADING.match(line)
        if match:
            if "".join(body).strip():
                yield " > ".join(h for _, h in path), "\n".join(body).strip()
            level, heading = len(match.group(1)), match.group(2).strip()
            path = [(lvl, h) for lvl, h in path if lvl < level or (lvl == 0 and h == title)]
            if not (level == 1 and heading == title):
                path.append((level, heading))
            body = []
        else:
            body.append(line)
    if "".join(body).strip():
        yield " > ".join(h for _, h in path), "\n".join(body).strip()


def _units(body: str, count: Callable[[str], int], max_tokens: int) -> Iterator[tuple[str, int]]:
    for paragraph in re.split(r"\n\s*\n", body):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        tokens = count(paragraph)
        if tokens <= max_tokens:
            yield paragraph, tokens
            continue
        for sentence in SENTENCE_END.split(paragraph):
            tokens = count(sentence)
            if tokens <= max_tokens:
                yield sentence, tokens
                continue
            words = sentence.split()
            step = max(1, len(words) * max_tokens // tokens)
            for i in range(0, len(words), step):
                piece = " ".join(words[i : i + step])
                yield piece, count(piece)


def chunk_document(
    doc: CleanDocument, count_tokens: Callable[[str], int], max_tokens: int, overlap: int
) -> list[Chunk]:
    chunks: list[Chunk] = []

    def emit(heading: str, units: list[tuple[str, int]]) -> None:
        text = "\n\n".join(u for u, _ in units)
        position = len(chunks)
        chunks.append(
            Chunk(chunk_id(doc.root, doc.source, doc.content_hash, position), doc.root, doc.source,
                  doc.content_hash, heading, position, text)
        )  # fmt: skip

    for heading, body in sections(doc.text, doc.title):
        current: list[tuple[str, int]] = []
        size = 0
        for unit, tokens in _units(body, count_tokens, max_tokens):
            if current and size + tokens > max_tokens:
                emit(heading, current)
                carried: list[tuple[str, int]] = []
                for previous in reversed(current):
                    if sum(t for _, t in carried) + previous[1] > overlap:
                        break
                    carried.insert(0, previous)
                current, size = carried, sum(t for _, t in carried)
            current.append((unit, tokens))
            size += tokens
        if current:
            emit(heading, current)
    return chunks
