"""Ingestion fixtures: the real MiniLM embedder (loaded once) and real milvus-lite per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.configuration import IngestConfig
from ingest.graph import Ingestor
from tests.support.knowledge import write_corpus


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus")


@pytest.fixture
def ingestor(tmp_path: Path, embedder):
    ingestor = Ingestor(IngestConfig(data_dir=tmp_path / "index"), embedder=embedder)
    yield ingestor
    ingestor.close()
