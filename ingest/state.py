"""Typed state of the ingestion graph: each stage's output is the next stage's input."""

from __future__ import annotations

from typing import TypedDict

from ingest.documents import Chunk, CleanDocument, Document, EmbeddedChunk, SourceFile
from ingest.manifest import DocRecord


class InputState(TypedDict):
    roots: list[str]
    """Absolute source folders (or single files) to ingest."""
    run_id: str
    """Id of this run in the lineage."""
    pipeline: str
    """Fingerprint of cleaning, chunking and embedding settings."""
    reprocess: bool
    """True when the fingerprint changed since the last run: every document is redone."""


class IngestState(InputState, total=False):
    started_at: float
    """Wall-clock start of the run (epoch seconds)."""
    changed: list[SourceFile]
    """Files that are new or whose content changed since the last committed run."""
    unchanged: list[str]
    """Sources whose content hash matches the live version: not re-embedded."""
    deleted: list[DocRecord]
    """Live documents no longer present under their root."""
    previous: dict[str, DocRecord]
    """Live records of the changed files, keyed root + NUL + source (to replace them)."""
    documents: list[Document]
    cleaned: list[CleanDocument]
    chunks: list[Chunk]
    embedded: list[EmbeddedChunk]
    failed: list[dict[str, str]]
    """Files skipped with the reason: {source, reason}."""
    ignored: int
    """Files of a type ingestion does not read."""
    summary: dict
    """The run's outcome: counts, failures, index version, seconds."""
