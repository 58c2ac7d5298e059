"""Wiring of the ingestion graph, and the runner that owns its parts."""

from __future__ import annotations

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
