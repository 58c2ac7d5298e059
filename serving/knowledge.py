"""The knowledge base inside the server process: it owns the milvus-lite data dir (one owner
process at a time), so ingestion triggered while serving runs here, one run at a time (and one
across replicas, when they share a Milvus server)."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ingest.configuration import IngestConfig
from ingest.graph import Ingestor
from ingest.manifest import Manifest
from ingest.retriever import HybridRetriever
from serving.database import PostgresDatabase
from serving.observability.alerts import Alerter
from serving.observability.metrics import Metrics
from serving.settings import Settings
from storage.database import SqliteDatabase
from storage.locks import redis_lock

log = logging.getLogger("railyard.ingest")


def ingestor(settings: Settings) -> Ingestor:
    """With a Milvus server (RAILYARD_MILVUS_URI) the index may be written from several
    machines: its manifest goes to the shared Postgres and runs take turns through a Redis lock
    when those are configured. With milvus-lite the index is this data dir's, and so are its
    manifest and lock."""
    config = ingest_config(settings)
    shared = settings.milvus_uri is not None
    database = lock = None
    if shared and settings.database_url:
        database = PostgresDatabase(settings.database_url.get_secret_value())
    if shared and settings.redis_url:
        lock = redis_lock(settings.redis_url, f"ingest:{config.collection}")
    return Ingestor(config, database=database, lock=lock)


def open_manifest(settings: Settings) -> Manifest:
    """The index's manifest alone (no vector store: readable while the server owns it)."""
    if settings.milvus_uri is not None and settings.database_url:
        return Manifest(PostgresDatabase(settings.database_url.get_secret_value()))
    return Manifest(SqliteDatabase(ingest_config(settings).manifest_path))


def check_index(settings: Settings, ingestor: Ingestor, summary: dict) -> dict | None:
    """After a run that changed the index: the eval set (RAILYARD_EVAL_SET) searched on it and
    recorded per index version; under `alert`, the eval_drop alert to send when a figure fell
    past RAILYARD_EVAL_DROP_ALERT from the previous version's. None when there is nothing to
    check."""
    changed = summary.get("added") or summary.get("updated") or summary.get("deleted")
    if settings.eval_set is None or not changed:
        return None
    from ingest.evaluation import drops, evaluate, read_eval_set

    eval_set = str(settings.eval_set)
    retriever = HybridRetriever(ingestor.store, ingestor.manifest, ingestor.embedder)
    figures = evaluate(retriever, read_eval_set(settings.eval_set))
    version = summary.get("index_version") or ingestor.manifest.index_version()
    earlier = ingestor.manifest.evaluations(eval_set, limit=1)
    ingestor.manifest.record_evaluation(version, eval_set, figures)
    fallen = drops(earlier[0]["figures"], figures, settings.eval_drop_alert) if earlier else {}
    alert = None
    if fallen:
        before = earlier[0]
        alert = {
            "kind": "eval_drop",
            "message": f"index version {version}: the eval set's "
            + ", ".join(f"{k} fell by {v:.0%}" for k, v in fallen.items())
            + f" from version {before['index_version']}",
            "index_version": version, "previous_version": before["index_version"],
            "drops": fallen, "figures": figures, "previous": before["figures"],
            "eval_set": eval_set,
        }  # fmt: skip
    return {"index_version": version, **figures, "dropped": fallen, "alert": alert}


def after_run(settings: Settings, ingestor: Ingestor, summary: dict) -> list[dict]:
    """What follows every committed ingestion run, in the server or a CLI command (the one
    hook for both): the eval set on the new index, recorded in the summary; and the alerts to
    post: skipped documents, an eval figure that fell. A failing check is logged, never the
    run's error (the run is committed)."""
    alerts = []
    if failed := summary.get("failed"):
        alerts.append({
            "kind": "ingest_failed", "message": f"ingestion run skipped {len(failed)} document(s)",
            "failed": failed[:50], "summary": {k: v for k, v in summary.items() if k != "failed"},
        })  # fmt: skip
    try:
        checked = check_index(settings, ingestor, summary)
    except Exception:
        log.exception("checking the new index with the eval set failed")
        checked = None
    if checked is not None:
        summary["evaluation"] = checked
        if checked["alert"] is not None:
            alerts.append(checked["alert"])
    return alerts


def failed_run(error: BaseException) -> dict:
    """The alert for an ingestion run that raised (nothing of it was committed)."""
    message = f"ingestion run failed: {error}"
    return {"kind": "ingest_failed", "message": message, "error": str(error)}


def ingest_config(settings: Settings) -> IngestConfig:
    return IngestConfig(
        data_dir=settings.data_dir / "index",
        milvus_uri=settings.milvus_uri,
        max_file_bytes=int(settings.ingest_max_file_mb * 2**20),
    )


class KnowledgeBase:
    def __init__(
        self, settings: Settings, metrics: Metrics | None = None, alerts: Alerter | None = None
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.alerts = alerts
        self.ingestor = ingestor(settings)
        self.retriever = HybridRetriever(
            self.ingestor.store, self.ingestor.manifest, self.ingestor.embedder
        )
        self._lock = asyncio.Lock()
        self.seeding = False
        self.last_summary: dict | None = None
        # Readiness probes run on a thread of their own, one at a time: a store that hangs
        # holds that one thread, never the event loop or the pool retrieval runs on.
        self._probes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-probe")
        self._probe: asyncio.Future | None = None

    def close(self) -> None:
        self._probes.shutdown(wait=False, cancel_futures=True)
        self.ingestor.close()

    async def warm_up(self) -> None:
        """Load the embedder now rather than on the first question."""
        await asyncio.to_thread(self.ingestor.embedder.embed, ["warm up"])

    async def ingest(self, paths: list[str | Path]) -> dict:
        async with self._lock:
            try:
                summary = await asyncio.to_thread(self.ingestor.run, paths)
            except Exception as exc:
                if self.metrics is not None:
                    self.metrics.observe_ingest(None, error=True)
                if self.alerts is not None:
                    self.alerts.send(**failed_run(exc))
                raise
        if self.metrics is not None:
            self.metrics.observe_ingest(summary)
        alerts = await asyncio.to_thread(after_run, self.settings, self.ingestor, summary)
        if self.metrics is not None:
            self.metrics.observe_index_check(summary.get("evaluation"))
        for alert in alerts if self.alerts is not None else []:
            self.alerts.send(**alert)  # type: ignore[union-attr]
        self.last_summary = summary
        log.info("ingested %s", {k: v for k, v in summary.items() if k != "failed"})
        return summary

    def needs_seed(self) -> bool:
        """True (and not ready until seeded) when a knowledge base is configured and the index
        holds no document yet."""
        empty = not self.ingestor.manifest.documents()
        self.seeding = bool(self.settings.knowledge_base) and empty
        return self.seeding

    async def seed(self) -> None:
        try:
            await self.ingest(list(self.settings.knowledge_base))
        except Exception:
            log.exception("indexing the knowledge base failed")
        finally:
            self.seeding = False

    async def check_ready(self, timeout_s: float = 2.0) -> bool:
        """`ready()` off the event loop, answered within `timeout_s` (False past it); a probe
        still running is awaited again rather than a second one started."""
        if self.seeding:
            return False
        if self._probe is None or self._probe.done():
            self._probe = asyncio.get_running_loop().run_in_executor(self._probes, self.ready)
        try:
            return await asyncio.wait_for(asyncio.shield(self._probe), timeout_s)
        except TimeoutError:
            return False

    def ready(self) -> bool:
        if self.seeding:
            return False
        try:
            self.ingestor.store.count()
            return True
        except Exception:
            return False
