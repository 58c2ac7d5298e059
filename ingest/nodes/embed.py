"""embed: embed every new chunk with the loaded-once embedder, in batches."""

from __future__ import annotations

from langgraph.runtime import Runtime

from ingest.context import IngestContext
from ingest.documents import Chunk, EmbeddedChunk, expect
from ingest.state import IngestState

BATCH = 128


def embed(state: IngestState, runtime: Runtime[IngestContext]) -> dict:
    chunks = state["chunks"]
    expect(chunks, Chunk, "embed")
    embedder, progress = runtime.context.embedder, runtime.context.progress
    embedded: list[EmbeddedChunk] = []
    for start in range(0, len(chunks), BATCH):
        batch = chunks[start : start + BATCH]
        vectors = embedder.embed([c.embedding_text() for c in batch])
        embedded += [EmbeddedChunk(c, v) for c, v in zip(batch, vectors, strict=True)]
        progress("embed", len(embedded), len(chunks))
    return {"embedded": embedded}
