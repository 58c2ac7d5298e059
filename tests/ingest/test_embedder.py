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


def test_a_question_asked_at_once_by_two_callers_is_encoded_once(embedder, monkeypatch):
    """Retrieval and the topic rail embed the same question side by side: one encode serves
    both, and the memoised vector is the one a batch encode gives."""
    from concurrent.futures import ThreadPoolExecutor

    question = "How many hours of sick leave do employees earn each pay period?"
    embedder.clear_memo()
    (expected,) = embedder._encode([question])
    calls = []
    encode = embedder._encode

    def counted(texts):
        calls.append(list(texts))
        return encode(texts)

    monkeypatch.setattr(embedder, "_encode", counted)
    with ThreadPoolExecutor(4) as pool:
        vectors = list(pool.map(lambda _: embedder.embed([question])[0], range(4)))
    assert calls == [[question]]
    assert all(v == vectors[0] for v in vectors)
    assert max(abs(a - b) for a, b in zip(vectors[0], expected, strict=True)) < 1e-5
    embedder.embed(["one", "batch"])  # batches bypass the memo
    assert calls[-1] == ["one", "batch"]
