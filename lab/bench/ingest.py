"""`railyard bench ingest`: the ingestion pipeline against the bare embedder, in one run.

- throughput: chunks/s of a full run (load, clean, chunk, embed, index) vs `model.encode` on
  the same chunk texts, same batch size;
- an unchanged re-run as a share of the full run;
- hybrid retrieval p50/p95 at larger sizes: the corpus's real chunk vectors and texts tiled
  (with small noise on the vectors) up to N rows, queried with real question embeddings.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

from ingest.configuration import IngestConfig
from ingest.documents import Chunk, EmbeddedChunk
from ingest.embedder import MiniLMEmbedder
from ingest.graph import Ingestor
from ingest.manifest import DocRecord
from ingest.retriever import HybridRetriever
from lab.stats import percentile

QUERIES = [
    "How much annual leave do I earn?",
    "What is the per diem for meals on travel days?",
    "How do I request a laptop?",
    "Who approves overtime?",
    "How do I report a security incident?",
    "What is the process for hiring?",
]


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": percentile(ordered, 0.95) * 1000,
    }


def throughput(corpus: Path, workdir: Path, embedder: MiniLMEmbedder) -> dict:
    ingestor = Ingestor(IngestConfig(data_dir=workdir / "pipeline"), embedder=embedder)
    try:
        embedder.embed(["warm up"])
        start = time.perf_counter()
        full = ingestor.run([corpus])
        full_s = time.perf_counter() - start
        start = time.perf_counter()
        rerun = ingestor.run([corpus])
        rerun_s = time.perf_counter() - start
        ids = sorted(ingestor.manifest.live_chunk_ids())
        rows = ingestor.store.client.get(
            ingestor.store.collection, ids=ids, output_fields=["heading", "text"]
        )
    finally:
        ingestor.close()
    texts = [f"{r['heading']}\n{r['text']}" if r["heading"] else r["text"] for r in rows]
    start = time.perf_counter()
    embedder.model.encode(texts, batch_size=embedder.batch_size, show_progress_bar=False)
    encode_s = time.perf_counter() - start
    pipeline_rate, encode_rate = full["chunks"] / full_s, len(texts) / encode_s
    return {
        "documents": full["added"],
        "chunks": full["chunks"],
        "pipeline_s": full_s,
        "pipeline_chunks_per_s": pipeline_rate,
        "encode_chunks_per_s": encode_rate,
        "pipeline_vs_encode": pipeline_rate / encode_rate,
        "rerun_s": rerun_s,
        "rerun_share": rerun_s / full_s,
        "rerun_embedded": rerun["chunks"],
    }


def retrieval_latency(
    corpus: Path, workdir: Path, embedder: MiniLMEmbedder, size: int, searches: int = 60
) -> dict:
    source = Ingestor(IngestConfig(data_dir=workdir / "pipeline"), embedder=embedder)
    try:
        ids = sorted(source.manifest.live_chunk_ids())
        rows = source.store.client.get(
            source.store.collection, ids=ids, output_fields=["text", "dense"]
        )
    finally:
        source.close()
    rng = random.Random(7)
    target = Ingestor(IngestConfig(data_dir=workdir / f"scale-{size}"), embedder=embedder)
    try:
        embedded = []
        for i in range(size):
            row = rows[i % len(rows)]
            vector = [x + rng.gauss(0, 0.01) for x in row["dense"]]
            norm = sum(x * x for x in vector) ** 0.5
            chunk = Chunk(f"scale-{i:07d}", "bench", f"doc{i // 20}.md", "h", "", i, row["text"])
            embedded.append(EmbeddedChunk(chunk, [x / norm for x in vector]))
        start = time.perf_counter()
        target.store.upsert(embedded, batch=2000)
        target.store.refresh()
        load_s = time.perf_counter() - start
        by_doc: dict[str, list[str]] = {}
        for item in embedded:
            by_doc.setdefault(item.chunk.source, []).append(item.chunk.id)
        records = [(DocRecord("bench", s, "h", ids), "", []) for s, ids in by_doc.items()]
        target.manifest.commit("bench", records, [], [], {}, embedder.name, time.time())
        retriever = HybridRetriever(target.store, target.manifest, embedder)
        retriever.search(QUERIES[0])  # warm the live-id cache
        latencies = []
        for i in range(searches):
            start = time.perf_counter()
            retriever.search(QUERIES[i % len(QUERIES)], k=5)
            latencies.append(time.perf_counter() - start)
        vector = embedder.embed([QUERIES[0]])[0]
        store_latencies = []
        for _ in range(searches):
            start = time.perf_counter()
            target.store.dense_search(vector, 20)
            store_latencies.append(time.perf_counter() - start)
        return {
            "rows": size,
            "insert_and_index_s": load_s,
            "hybrid": _percentiles(latencies),
            "dense_store_only": _percentiles(store_latencies),
        }
    finally:
        target.close()


def run(corpus: Path, sizes: list[int]) -> dict:
    embedder = MiniLMEmbedder()
    with tempfile.TemporaryDirectory(prefix="railyard-bench-") as tmp:
        workdir = Path(tmp)
        report = {"throughput": throughput(corpus, workdir, embedder)}
        report["retrieval"] = [retrieval_latency(corpus, workdir, embedder, size) for size in sizes]
    return report
