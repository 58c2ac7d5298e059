"""The vector store: one Milvus collection with dense vectors and BM25 full text.

milvus-lite in the data dir by default, a Milvus server when a URI is given; the same pymilvus
code serves both. milvus-lite facts that shape this (docs/architecture.md): the data dir has one
owner process; rows written after load are searched unindexed until flush + release + load.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pymilvus import DataType, Function, FunctionType, MilvusClient
from pymilvus.exceptions import MilvusException

from ingest.documents import EmbeddedChunk

ANALYZER = {"tokenizer": "standard", "filter": ["lowercase"]}
OUTPUT_FIELDS = ["source", "heading", "position", "text"]
TIMEOUT_S = 10.0
"""The longest a read waits on Milvus, retries included (pymilvus retries for minutes)."""


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    source: str
    heading: str
    position: int
    text: str
    score: float | None
    dense_rank: int | None = None
    """Rank (1 = best) in the dense search, when it found the chunk (hybrid searches)."""
    text_rank: int | None = None
    """Rank (1 = best) in the BM25 search, when it found the chunk (hybrid searches)."""


class _Gate:
    """Many searches at once, or one reload of the collection: a search waits out the moment
    between release and load (it would fail: "collection not loaded") instead of failing."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._searches = 0
        self._reloading = False

    @contextlib.contextmanager
    def searching(self) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: not self._reloading)
            self._searches += 1
        try:
            yield
        finally:
            with self._changed:
                self._searches -= 1
                self._changed.notify_all()

    @contextlib.contextmanager
    def reloading(self) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: not self._reloading)
            self._reloading = True  # new searches wait from here
            self._changed.wait_for(lambda: self._searches == 0)
        try:
            yield
        finally:
            with self._changed:
                self._reloading = False
                self._changed.notify_all()


EMBEDDED_GRPC = {"grpc.keepalive_permit_without_calls": False, "grpc.keepalive_time_ms": 300_000}


class MilvusStore:
    def __init__(self, uri: str, collection: str, dim: int) -> None:
        self.uri, self.collection, self.dim = uri, collection, dim
        # The embedded milvus-lite server allows no keepalive ping between calls (gRPC's default
        # server policy); pymilvus pings every 10 s, idle or not, and each ping earns a "GOAWAY
        # too_many_pings" error in the log. A Milvus server's own policy allows them.
        options = {"grpc_options": EMBEDDED_GRPC} if uri.endswith(".db") else {}
        self.client = MilvusClient(uri, **options)
        self._gate = _Gate()
        self._ensure_collection()

    def close(self) -> None:
        self.client.close()

    def _ensure_collection(self) -> None:
        if not self.client.has_collection(self.collection):
            schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=128)
            schema.add_field("source", DataType.VARCHAR, max_length=2048)
            schema.add_field("heading", DataType.VARCHAR, max_length=2048)
            schema.add_field("position", DataType.INT64)
            schema.add_field(
                "text", DataType.VARCHAR, max_length=16384, enable_analyzer=True,
                analyzer_params=ANALYZER,
            )  # fmt: skip
            schema.add_field("dense", DataType.FLOAT_VECTOR, dim=self.dim)
            schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            schema.add_function(
                Function(name="bm25", function_type=FunctionType.BM25,
                         input_field_names=["text"], output_field_names=["sparse"])
            )  # fmt: skip
            index = self.client.prepare_index_params()
            # FLAT is exact; HNSW at default ef had recall@5 0.49 here (docs/architecture.md).
            index.add_index("dense", index_type="FLAT", metric_type="IP")
            index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
            try:
                self.client.create_collection(self.collection, schema=schema, index_params=index)
            except MilvusException:
                # Another store opened on the same data at the same moment (a second replica on a
                # Milvus server, the watcher and the server in one process) created it first:
                # "already exists", or milvus-lite's "File exists" while it is being created.
                if not self.client.has_collection(self.collection):
                    raise
        self.load()

    def load(self, attempts: int = 5) -> None:
        """Load with retry: after bulk writes the index files are written in the background."""
        for attempt in range(attempts):
            try:
                self.client.load_collection(self.collection, timeout=60)
                return
            except MilvusException:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.5 * 2**attempt)

    def upsert(self, chunks: list[EmbeddedChunk], batch: int = 256) -> None:
        for start in range(0, len(chunks), batch):
            rows = [
                {"id": e.chunk.id, "source": e.chunk.source, "heading": e.chunk.heading[:2000],
                 "position": e.chunk.position, "text": e.chunk.text[:16000], "dense": e.vector}
                for e in chunks[start : start + batch]
            ]  # fmt: skip
            self.client.upsert(self.collection, rows)

    def delete(self, ids: list[str], batch: int = 1000) -> None:
        for start in range(0, len(ids), batch):
            self.client.delete(self.collection, ids=ids[start : start + batch])

    def refresh(self) -> None:
        """Make written rows indexed for search: flush, release, load. Searches in this process
        wait for the reload (a second or so) rather than fail during it."""
        self.client.flush(self.collection)
        with self._gate.reloading():
            self.client.release_collection(self.collection)
            self.load()

    def _read(self, call):
        """A read, waiting out this process's reloads; and another process's (replicas that
        share a Milvus server): a read that finds the collection released loads it and tries
        once more."""
        with self._gate.searching():
            try:
                return call()
            except MilvusException as exc:
                if "not loaded" not in str(exc).lower():
                    raise
        self.load()
        with self._gate.searching():
            return call()

    def count(self) -> int:
        result = self._read(
            lambda: self.client.query(
                self.collection, filter="", output_fields=["count(*)"], timeout=TIMEOUT_S
            )
        )
        return int(result[0]["count(*)"])

    def dense_search(self, vector: list[float], limit: int) -> list[Hit]:
        return self._search(vector, "dense", "IP", limit)

    def vectors(self, ids: list[str]) -> dict[str, list[float]]:
        if not ids:
            return {}
        rows = self._read(
            lambda: self.client.get(
                self.collection, ids=ids, output_fields=["dense"], timeout=TIMEOUT_S
            )
        )
        return {row["id"]: list(row["dense"]) for row in rows}

    def passage(self, chunk_id: str) -> Hit | None:
        """One chunk by id (what a citation points at), or None."""
        rows = self._read(
            lambda: self.client.get(
                self.collection, ids=[chunk_id], output_fields=OUTPUT_FIELDS, timeout=TIMEOUT_S
            )
        )
        if not rows:
            return None
        return _hit({"id": rows[0]["id"], "entity": rows[0], "distance": None})

    def text_search(self, query: str, limit: int) -> list[Hit]:
        return self._search(query, "sparse", "BM25", limit)

    def _search(self, data: list[float] | str, field: str, metric: str, limit: int) -> list[Hit]:
        result = self._read(
            lambda: self.client.search(
                self.collection, data=[data], anns_field=field, limit=limit,
                output_fields=OUTPUT_FIELDS, search_params={"metric_type": metric},
                timeout=TIMEOUT_S,
            )
        )  # fmt: skip
        return [_hit(r) for r in result[0]]


def _hit(row: dict) -> Hit:
    entity = row["entity"]
    return Hit(
        chunk_id=row["id"], source=entity["source"], heading=entity["heading"],
        position=int(entity["position"]), text=entity["text"],
        score=None if row["distance"] is None else float(row["distance"]),
    )  # fmt: skip


def held_elsewhere(uri: str) -> bool:
    """Whether another process has the embedded milvus-lite index at `uri` open: milvus-lite
    holds an advisory flock on its data dir's LOCK file while the database is open (one owner
    process per data dir), released when its owner exits, even by a crash. Read from the
    kernel's lock table (/proc/locks: the holder's pid and the file's inode), so this process's
    own hold (a watcher that ingested a moment ago) is not mistaken for another's."""
    lock = Path(uri) / "LOCK"
    if not uri.endswith(".db") or not lock.exists():
        return False
    found = os.stat(lock)
    file_id = f"{os.major(found.st_dev):02x}:{os.minor(found.st_dev):02x}:{found.st_ino}"
    try:
        table = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return _locked(lock)  # no lock table: any holder, this process included
    for line in table:
        fields = line.split()
        if len(fields) > 5 and fields[1] == "FLOCK" and fields[5] == file_id:
            if int(fields[4]) != os.getpid():
                return True
    return False


def _locked(lock: Path) -> bool:
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
