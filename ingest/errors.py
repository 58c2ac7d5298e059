"""Ingestion errors.

IngestError
├── DocumentError    one document cannot be read (binary, empty, corrupt, undecodable);
│                    it is skipped and reported, the rest of the run goes on
├── StageError       a stage produced the wrong type; the run fails with the document named
└── SourceError      a path given to `ingest run` does not exist
"""

from __future__ import annotations


class IngestError(Exception):
    """Base of ingestion's errors."""


class DocumentError(IngestError):
    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class StageError(IngestError):
    """A stage handed on something other than what the next stage takes."""


class SourceError(IngestError):
    """A source path is missing or unreadable."""
