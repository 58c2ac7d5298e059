"""The typed values that flow between ingestion stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.errors import StageError


@dataclass(frozen=True)
class SourceFile:
    """A file found under a source root; `source` is its path relative to that root."""

    root: str
    path: Path
    source: str
    content_hash: str


@dataclass(frozen=True)
class Document:
    """Loaded text of one file (format markup removed where the loader knows it)."""

    root: str
    source: str
    content_hash: str
    text: str
    title: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CleanDocument(Document):
    """Text ready to chunk: template tags, comments and stray markup removed."""


@dataclass(frozen=True)
class Chunk:
    id: str
    root: str
    source: str
    content_hash: str
    heading: str
    position: int
    text: str

    def embedding_text(self) -> str:
        """What gets embedded: the heading path gives a chunk its context."""
        return f"{self.heading}\n{self.text}" if self.heading else self.text


@dataclass(frozen=True)
class EmbeddedChunk:
    chunk: Chunk
    vector: list[float]


def expect(items: list, kind: type, stage: str) -> None:
    """Fail loudly, naming the document, when a stage hands on the wrong type."""
    for item in items:
        if not isinstance(item, kind):
            source = getattr(item, "source", None) or getattr(
                getattr(item, "chunk", None), "source", repr(item)[:80]
            )
            raise StageError(
                f"{stage} expected {kind.__name__} but got {type(item).__name__} for {source}"
            )
