"""The knowledge base inside the server process: it owns the milvus-lite data dir (one owner
process at a time), so ingestion triggered while serving runs here, one run at a time."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from ingest.configuration import IngestConfig
from ingest.graph import Ingestor
from ingest.retriever import HybridRetriever
from serving.observability.alerts import Alerter
from serving.observability.metrics import Metrics
from serving.settings import Settings

log = logging.getLogger("railyard.ingest")


def ingest_config(settings: Settings) -> IngestConfig:
    return IngestConfig(data_dir=settings.data_dir / "index", milvus_uri=settings.milvus_uri)


class KnowledgeBase:
    def __init__(
        self, settings: Settings, metrics: Metrics | None = None, alerts: Alerter | None = None
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.alerts = alerts
        self.ingestor = Ingestor(ingest_config(settings))
        self.retriever = HybridRetriever(
            self.ingestor.store, self.ingestor.manifest, self.ingestor.embedder
        )
        self._lock = asyncio.Lock()
        self.seeding = False
        self.last_summary: dict | None = None

    def close(self) -> None:
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
                    self.alerts.ingest(None, exc)
                raise
        if self.metrics is not None:
            self.metrics.observe_ingest(summary)
        if self.alerts is not None:
            self.alerts.ingest(summary)
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

    def ready(self) -> bool:
        if self.seeding:
            return False
        try:
            self.ingestor.store.count()
            return True
        except Exception:
            return False
