"""Hybrid retrieval over the live index: dense (MiniLM) and BM25 searches fused by reciprocal
rank, with rows that are not live (a run in progress, or killed) dropped."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from ingest.embedder import Embedder
from ingest.manifest import Manifest
from ingest.store import Hit, MilvusStore

RRF_K = 60


@dataclass(frozen=True)
class Retrieved:
    hits: list[Hit]
    """Best first; `score` is the dense cosine similarity of the chunk to the query."""
    index_version: int
    baseline: float | None = None
    """The query's cosine to the chunks just past the results (dense ranks k+1 to 3k+5): how
    similar this corpus's unrelated text is to this query, so a hit's score can be read
    relative to it rather than on an absolute scale that differs between corpora."""


class HybridRetriever:
    def __init__(self, store: MilvusStore, manifest: Manifest, embedder: Embedder) -> None:
        self.store, self.manifest, self.embedder = store, manifest, embedder
        self._live: set[str] = set()
        self._version = -1
        self._lock = threading.Lock()

    def _live_ids(self) -> tuple[set[str], int]:
        version = self.manifest.index_version()
        if version != self._version:
            with self._lock:
                if version != self._version:
                    self._live = self.manifest.live_chunk_ids()
                    self._version = version
        return self._live, self._version

    def index_version(self) -> int:
        return self.manifest.index_version()

    def search(self, query: str, k: int = 5, mode: str = "hybrid") -> Retrieved:
        live, version = self._live_ids()
        fetch = 3 * k + 5  # headroom for rows that are not live
        query_vector = self.embedder.embed([query])[0]
        dense = self.store.dense_search(query_vector, fetch)
        dense = [h for h in dense if h.chunk_id in live]
        if mode == "dense":
            return Retrieved(dense[:k], version)
        text = [h for h in self.store.text_search(query, fetch) if h.chunk_id in live]
        if mode == "bm25":
            return Retrieved(text[:k], version)
        hits = self._with_cosine(_fuse(dense, text)[:k], query_vector)
        tail = [h.score for h in dense[k:] if h.score is not None]
        return Retrieved(hits, version, sum(tail) / len(tail) if tail else None)

    def _with_cosine(self, hits: list[Hit], query_vector: list[float]) -> list[Hit]:
        """BM25-only hits get their dense cosine too, so every score means the same thing."""
        vectors = self.store.vectors([h.chunk_id for h in hits if h.score is None])
        scored = []
        for hit in hits:
            if hit.score is None:
                vector = vectors.get(hit.chunk_id)
                cosine = (
                    sum(a * b for a, b in zip(query_vector, vector, strict=True)) if vector else 0.0
                )
                hit = replace(hit, score=cosine)
            scored.append(hit)
        return scored


def _fuse(dense: list[Hit], text: list[Hit]) -> list[Hit]:
    """Reciprocal-rank fusion; each hit keeps its dense cosine as its score (None if BM25 only)
    and its rank in each search."""
    fused: dict[str, float] = {}
    by_id: dict[str, Hit] = {}
    cosine = {h.chunk_id: h.score for h in dense}
    ranks: dict[str, dict[str, int]] = {}
    for name, ranking in (("dense_rank", dense), ("text_rank", text)):
        for rank, hit in enumerate(ranking):
            fused[hit.chunk_id] = fused.get(hit.chunk_id, 0.0) + 1.0 / (RRF_K + rank + 1)
            by_id.setdefault(hit.chunk_id, hit)
            ranks.setdefault(hit.chunk_id, {})[name] = rank + 1
    order = sorted(fused, key=fused.__getitem__, reverse=True)
    return [replace(by_id[i], score=cosine.get(i), **ranks[i]) for i in order]
