"""Chunks follow headings, stay within the token bound and overlap."""

from __future__ import annotations

import itertools

from ingest.chunking import chunk_document
from ingest.documents import CleanDocument


def words(text: str) -> int:
    return len(text.split())


def test_chunks_keep_their_heading_path_and_bound():
    body = "\n\n".join(f"Sentence number {i} talks about leave policy." for i in range(60))
    text = f"Intro paragraph.\n\n## Leave\n\n{body}\n\n### Details\n\nFine print here."
    doc = CleanDocument("/r", "a.md", "h" * 64, text, "Handbook")
    chunks = chunk_document(doc, words, max_tokens=50, overlap=10)
    assert chunks[0].heading == "Handbook" and chunks[0].text == "Intro paragraph."
    leave = [c for c in chunks if c.heading == "Handbook > Leave"]
    assert len(leave) > 1 and all(words(c.text) <= 50 for c in chunks)
    assert chunks[-1].heading == "Handbook > Leave > Details"
    # Overlap: each leave chunk after the first starts with the end of the one before.
    for previous, current in itertools.pairwise(leave):
        assert current.text.split("\n\n")[0] in previous.text
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert len({c.id for c in chunks}) == len(chunks)
