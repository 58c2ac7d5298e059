"""Wiring of the ingestion graph, and the runner that owns its parts."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from ingest.configuration import IngestConfig
from ingest.context import IngestContext, Progress, no_progress
from ingest.embedder import Embedder, MiniLMEmbedder
from ingest.manifest import Manifest
from ingest.nodes.chunk import chunk
from ingest.nodes.clean import clean
from ingest.nodes.embed import embed
from ingest.nodes.index import index
from ingest.nodes.load import load
from ingest.state import IngestState, InputState
from ingest.store import MilvusStore

log = logging.getLogger("railyard.ingest")


def compile_graph() -> CompiledStateGraph:
    builder = StateGraph(IngestState, input_schema=InputState, context_schema=IngestContext)
    for node in (load, clean, chunk, embed, index):
        builder.add_node(node)
    builder.add_edge(START, "load")
    builder.add_edge("load", "clean")
    builder.add_edge("clean", "chunk")
    builder.add_edge("chunk", "embed")
    builder.add_edge("embed", "index")
    builder.add_edge("index", END)
    return builder.compile(name="railyard-ingest")


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """One ingestion run at a time on an index, across processes (the gateway's watcher, a cron
    scheduler, `railyard ingest`): two runs would delete each other's pending rows and could
    give out the same index version. The lock is the kernel's, released if the holder dies."""
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("another ingestion run holds %s; waiting for it", path)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Ingestor:
    """Owns the store, the manifest and the embedder; runs the ingestion graph over paths."""

    def __init__(self, config: IngestConfig, embedder: Embedder | None = None) -> None:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.config = config
        self.embedder = embedder or MiniLMEmbedder()
        self.store = MilvusStore(config.uri, config.collection, self.embedder.dim)
        self.manifest = Manifest(config.manifest_path)
        self.graph = compile_graph()

    def close(self) -> None:
        self.store.close()
        self.manifest.close()

    def run(self, paths: list[str | Path], progress: Progress = no_progress) -> dict:
        context = replace(self.context(), progress=progress)
        roots = [str(Path(p).resolve()) for p in paths]
        with exclusive(self.config.lock_path):
            # Read under the lock: a run that waited sees what the other one wrote.
            pipeline = self.config.fingerprint(self.embedder.name)
            previous = self.manifest.meta("pipeline")
            state = self.graph.invoke(
                InputState(
                    roots=roots,
                    run_id=uuid.uuid4().hex,
                    pipeline=pipeline,
                    reprocess=previous is not None and previous != pipeline,
                ),
                context=context,
            )
        return state["summary"]

    def context(self) -> IngestContext:
        return IngestContext(self.config, self.store, self.manifest, self.embedder)
