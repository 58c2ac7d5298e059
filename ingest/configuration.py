"""What the ingestion graph is configured with (built from railyard's Settings by the caller)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingest.chunking import CHUNKER_VERSION
from ingest.cleaning import CLEANING_VERSION


@dataclass(frozen=True)
class IngestConfig:
    data_dir: Path
    """Where the manifest and the embedded milvus-lite database live."""
    milvus_uri: str | None = None
    """A Milvus server; None means milvus-lite in `data_dir`."""
    collection: str = "railyard_chunks"
    chunk_tokens: int = 200
    """Largest chunk, in embedder tokens (MiniLM reads at most 256)."""
    chunk_overlap: int = 40
    """Tokens' worth of trailing paragraphs/sentences repeated at the start of the next chunk."""
    max_file_bytes: int = 50 * 2**20
    """Larger files are skipped and reported, not read."""

    def fingerprint(self, embedding_model: str) -> str:
        """What a document's chunks depend on besides its content: when this changes, every
        document is processed again."""
        chunking = f"chunk{CHUNKER_VERSION}:{self.chunk_tokens}/{self.chunk_overlap}"
        return f"clean{CLEANING_VERSION}-{chunking}-{embedding_model}"

    @property
    def uri(self) -> str:
        return self.milvus_uri or str(self.data_dir / "milvus.db")

    @property
    def manifest_path(self) -> Path:
        return self.data_dir / "manifest.sqlite"

    @property
    def lock_path(self) -> Path:
        """Held for a whole run: one ingestion at a time per data dir, across processes."""
        return self.data_dir / "ingest.lock"
