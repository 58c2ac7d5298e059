"""chunk: split each document into heading-aware, token-bounded, overlapping chunks."""

from __future__ import annotations

from langgraph.runtime import Runtime

from ingest.chunking import chunk_document
from ingest.context import IngestContext
from ingest.documents import CleanDocument, expect
from ingest.state import IngestState


def chunk(state: IngestState, runtime: Runtime[IngestContext]) -> dict:
    expect(state["cleaned"], CleanDocument, "chunk")
    config, embedder = runtime.context.config, runtime.context.embedder
    chunks = []
    for doc in state["cleaned"]:
        chunks += chunk_document(
            doc, embedder.count_tokens, config.chunk_tokens, config.chunk_overlap
        )
    return {"chunks": chunks}
