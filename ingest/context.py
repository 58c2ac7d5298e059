"""What the ingestion nodes are given at run time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ingest.configuration import IngestConfig
from ingest.embedder import Embedder
from ingest.manifest import Manifest
from ingest.store import MilvusStore

Progress = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class IngestContext:
    config: IngestConfig
    store: MilvusStore
    manifest: Manifest
    embedder: Embedder
    progress: Progress = no_progress
    """Called as (stage, done, total) while a stage works; the CLI draws a progress bar."""
    ray_address: str | None = None
    """The Ray cluster the `on_ray` graph runs load → embed on."""
