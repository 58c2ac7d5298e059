"""The embedder's token counts, which bound chunks, are exact and do not depend on history."""

from __future__ import annotations


def test_token_counts_ignore_padding_and_truncation(embedder):
    text = "Employees earn four hours of sick leave every pay period. " * 5
    before = embedder.count_tokens(text)
    embedder.embed(["short", "texts", "switch padding on in the shared tokenizer"])
    assert embedder.count_tokens(text) == before == len(embedder.model.tokenizer.tokenize(text))
    assert embedder.count_tokens("word " * 400) == 400  # no truncation at 256


def test_vectors_are_unit_length(embedder):
    (vector,) = embedder.embed(["hello"])
    assert len(vector) == embedder.dim
    assert abs(sum(x * x for x in vector) - 1.0) < 1e-4
