"""Wiring of the ingestion graph, and the runner that owns its parts."""

from __future__ import annotations

import logging
import uuid
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
from storage.database import Database, SqliteDatabase
from storage.locks import Lock, file_lock

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


def compile_ray_graph() -> CompiledStateGraph:
    """Load → clean → chunk → embed on a Ray cluster (one node), then the same commit."""
    from ingest.nodes.on_ray import on_ray

    builder = StateGraph(IngestState, input_schema=InputState, context_schema=IngestContext)
    builder.add_node(on_ray)
    builder.add_node(index)
    builder.add_edge(START, "on_ray")
    builder.add_edge("on_ray", "index")
    builder.add_edge("index", END)
    return builder.compile(name="railyard-ingest-ray")


class Ingestor:
    """Owns the store, the manifest and the embedder; runs the ingestion graph over paths."""

    def __init__(
        self,
        config: IngestConfig,
        embedder: Embedder | None = None,
        *,
        database: Database | None = None,
        lock: Lock | None = None,
    ) -> None:
        """`database` holds the manifest (a SQLite file in the data dir by default) and `lock`
        makes runs on the index take turns (a file lock in the data dir by default): shared
        ones when several machines write one Milvus server."""
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.config = config
        self.embedder = embedder or MiniLMEmbedder()
        self.store = MilvusStore(config.uri, config.collection, self.embedder.dim)
        self.manifest = Manifest(database or SqliteDatabase(config.manifest_path))
        self.lock = lock or file_lock(config.lock_path)
        self.graph = compile_graph()

    def close(self) -> None:
        self.store.close()
        self.manifest.close()

    def run(
        self, paths: list[str | Path], progress: Progress = no_progress, ray: str | None = None
    ) -> dict:
        """Ingest `paths`; with `ray` (a cluster address, or "local"), load → embed there."""
        context = replace(self.context(), progress=progress, ray_address=ray)
        graph = self.graph
        if ray is not None:
            if not isinstance(self.embedder, MiniLMEmbedder):
                raise ValueError("ingestion on Ray embeds with MiniLM, as the default embedder")
            graph = compile_ray_graph()
        roots = [str(Path(p).resolve()) for p in paths]
        # One run at a time on an index, across processes (the gateway's watcher, a cron
        # scheduler, `railyard ingest`, other replicas): two runs would delete each other's
        # pending rows and could give out the same index version.
        with self.lock():
            # Read under the lock: a run that waited sees what the other one wrote.
            pipeline = self.config.fingerprint(self.embedder.name)
            previous = self.manifest.meta("pipeline")
            state = graph.invoke(
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
