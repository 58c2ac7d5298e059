"""index: write new rows, commit the manifest (the atomic switch), then delete replaced rows."""

from __future__ import annotations

import time
from collections import defaultdict

from langgraph.runtime import Runtime

from ingest.context import IngestContext
from ingest.documents import EmbeddedChunk, expect
from ingest.manifest import DocRecord
from ingest.state import IngestState
from ingest.text import terms


def index(state: IngestState, runtime: Runtime[IngestContext]) -> dict:
    embedded = state["embedded"]
    expect(embedded, EmbeddedChunk, "index")
    ctx = runtime.context
    store, manifest = ctx.store, ctx.manifest
    # Rows a killed earlier run left behind are not live; remove them first.
    leftovers = manifest.leftovers()
    if leftovers:
        store.delete(leftovers)
        manifest.clear_leftovers()

    by_doc: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item in embedded:
        by_doc[(item.chunk.root, item.chunk.source)].append(item.chunk.id)
    docs = {(d.root, d.source): d for d in state["cleaned"]}
    upserts = [
        (DocRecord(root, source, doc.content_hash, by_doc.get((root, source), [])),
         doc.title, sorted(terms(f"{doc.title}\n{doc.text}")))
        for (root, source), doc in docs.items()
    ]  # fmt: skip
    previous = state["previous"]
    replaced: list[str] = []
    for record, _, _ in upserts:
        old = previous.get(f"{record.root}\0{record.source}")
        if old:
            # Same content reprocessed keeps its ids (they include the content hash).
            kept = set(record.chunk_ids)
            replaced += [chunk_id for chunk_id in old.chunk_ids if chunk_id not in kept]
    for record in state["deleted"]:
        replaced += record.chunk_ids

    if embedded:
        manifest.mark_pending(state["run_id"], [e.chunk.id for e in embedded])
        store.upsert(embedded)
        ctx.progress("index", len(embedded), len(embedded))
    if embedded or replaced or leftovers:
        store.refresh()
    summary = _summary(state, len(embedded))
    version = manifest.commit(
        state["run_id"], upserts, state["deleted"], replaced, summary,
        ctx.embedder.name, state["started_at"], state["pipeline"],
    )  # fmt: skip
    if replaced:
        store.delete(replaced)
        store.refresh()
        manifest.clear_leftovers()
    summary |= {"index_version": version, "seconds": round(time.time() - state["started_at"], 3)}
    return {"summary": summary}


def _summary(state: IngestState, chunks: int) -> dict:
    previous = state["previous"]
    ok = {(d.root, d.source) for d in state["cleaned"]}
    updated = [s for r, s in ok if f"{r}\0{s}" in previous]
    return {
        "run_id": state["run_id"],
        "added": len(ok) - len(updated),
        "updated": len(updated),
        "unchanged": len(state["unchanged"]),
        "deleted": len(state["deleted"]),
        "failed": state["failed"],
        "ignored": state["ignored"],
        "chunks": chunks,
    }
