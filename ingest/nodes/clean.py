"""clean: strip template tags, comments and markup; drop documents left empty."""

from __future__ import annotations

from langgraph.runtime import Runtime

from ingest.cleaning import clean_text
from ingest.context import IngestContext
from ingest.documents import CleanDocument, Document, expect
from ingest.state import IngestState


def clean(state: IngestState, runtime: Runtime[IngestContext]) -> dict:
    expect(state["documents"], Document, "clean")
    cleaned, failed = [], list(state["failed"])
    for doc in state["documents"]:
        text = clean_text(doc.text)
        if not text:
            failed.append({"source": doc.source, "reason": "no text left after cleaning"})
            continue
        cleaned.append(
            CleanDocument(doc.root, doc.source, doc.content_hash, text, doc.title, doc.metadata)
        )
    return {"cleaned": cleaned, "failed": failed}
