"""on_ray: load → clean → chunk → embed on a Ray cluster (`railyard ingest run --ray ADDRESS`),
for corpora too large to embed on one machine. The same functions as the single-process nodes
run in the cluster, as a Ray Data pipeline: files are read and cleaned by tasks, chunked and
embedded by actor pools (each loads MiniLM once; on GPUs where the cluster has them). What
changed is decided here first, against the manifest, and the result is committed by the same
`index` node: the incremental and atomic guarantees are the single-process run's."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from ingest.chunking import chunk_document
from ingest.cleaning import clean_text
from ingest.context import IngestContext
from ingest.documents import CleanDocument, EmbeddedChunk
from ingest.errors import DocumentError
from ingest.loaders import load as load_file
from ingest.nodes.embed import BATCH
from ingest.nodes.load import scan
from ingest.state import IngestState


def read_and_clean(row: dict[str, Any]) -> dict[str, Any]:
    """One file: its clean document, or why it was skipped (as the load and clean nodes)."""
    try:
        doc = load_file(row["file"])
    except DocumentError as e:
        return {"doc": None, "failure": {"source": e.source, "reason": e.reason}}
    text = clean_text(doc.text)
    if not text:
        failure = {"source": doc.source, "reason": "no text left after cleaning"}
        return {"doc": None, "failure": failure}
    clean = CleanDocument(doc.root, doc.source, doc.content_hash, text, doc.title, doc.metadata)
    return {"doc": clean, "failure": None}


class Chunker:
    """Chunks documents with the embedder's tokenizer, loaded once per actor."""

    def __init__(self, chunk_tokens: int, chunk_overlap: int) -> None:
        from ingest.embedder import MiniLMEmbedder

        self.embedder = MiniLMEmbedder(memo_size=0)
        self.chunk_tokens, self.chunk_overlap = chunk_tokens, chunk_overlap

    def __call__(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        chunks = chunk_document(
            row["doc"], self.embedder.count_tokens, self.chunk_tokens, self.chunk_overlap
        )
        return [{"chunk": chunk} for chunk in chunks]


class Embedding:
    """Embeds a batch of chunks, MiniLM loaded once per actor."""

    def __init__(self, device: str) -> None:
        from ingest.embedder import MiniLMEmbedder

        self.embedder = MiniLMEmbedder(memo_size=0, device=device)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        chunks = list(batch["chunk"])
        vectors = self.embedder.embed([c.embedding_text() for c in chunks])
        return {"chunk": batch["chunk"], "vector": np.asarray(vectors, dtype=np.float32)}


def on_ray(state: IngestState, runtime: Runtime[IngestContext]) -> dict:
    import ray

    context = runtime.context
    scanned = scan(state, context)
    failed = scanned["failed"]
    cleaned: list[CleanDocument] = []
    embedded: list[EmbeddedChunk] = []
    if scanned["changed"]:
        ray.init(address=context.ray_address, ignore_reinit_error=True, log_to_driver=False)
        gpus = ray.cluster_resources().get("GPU", 0)
        workers = max(1, int(gpus) or int(ray.cluster_resources().get("CPU", 1)) // 2)
        docs = ray.data.from_items([{"file": f} for f in scanned["changed"]]).map(read_and_clean)
        docs = docs.materialize()
        for row in docs.iter_rows():
            if row["doc"] is None:
                failed.append(row["failure"])
            else:
                cleaned.append(row["doc"])
        config = context.config
        vectors = (
            docs.filter(lambda row: row["doc"] is not None)
            .flat_map(
                Chunker, fn_constructor_args=(config.chunk_tokens, config.chunk_overlap),
                concurrency=workers,
            )
            .map_batches(
                Embedding, fn_constructor_args=("cuda" if gpus else "cpu",),
                batch_size=BATCH, batch_format="numpy", concurrency=workers,
                num_gpus=1 if gpus else 0,
            )
        )  # fmt: skip
        for row in vectors.iter_rows():
            embedded.append(EmbeddedChunk(row["chunk"], [float(x) for x in row["vector"]]))
        context.progress("embed", len(embedded), len(embedded))
    # Ray returns rows in no set order; the index node and the single-process run see them
    # in document and position order.
    embedded.sort(key=lambda e: (e.chunk.root, e.chunk.source, e.chunk.position))
    cleaned.sort(key=lambda d: (d.root, d.source))
    return scanned | {"documents": cleaned, "cleaned": cleaned, "chunks": [], "embedded": embedded}
