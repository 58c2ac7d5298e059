"""railyard's request path in one process, for benchmarks and evaluations: the parts built once
from Settings (knowledge base, router, rails) and chat services over them, with the guardrails
on and off. The HTTP layer is left out; everything under it is what `railyard serve` runs."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

from graph import build
from graph.context import Context
from graph.prompt import Prompt
from rails import RailsEngine
from serving.chat.protocol import ChatCompletionRequest
from serving.chat.serving import MODEL_NAME, ChatService
from serving.knowledge import KnowledgeBase, retrieval_settings
from serving.router.router import RouterChatModel
from serving.settings import Settings

log = logging.getLogger("railyard.inprocess")


@dataclass
class Services:
    knowledge: KnowledgeBase
    rails: RailsEngine
    on: ChatService
    off: ChatService
    parts: dict
    """What every request graph over these parts is built from (Context keyword arguments)."""

    def context(self, **changes) -> Context:
        """A guarded graph's context, with `changes` (e.g. routing, retrieval) applied."""
        return Context(**(self.parts | {"rails": self.rails} | changes))


@contextlib.asynccontextmanager
async def services(settings: Settings, seed: list[Path] | None = None) -> AsyncIterator[Services]:
    """Index `seed` (or the configured knowledge base) when the index is empty, then yield."""
    knowledge = KnowledgeBase(settings)
    try:
        await knowledge.warm_up()
        if seed and not knowledge.ingestor.manifest.documents():
            summary = await knowledge.ingest(list(seed))
            for failed in summary.get("failed", []):
                log.warning("not indexed: %s (%s)", failed["source"], failed["reason"])
        elif knowledge.needs_seed():
            await knowledge.seed()
        rails = RailsEngine(settings.rails_dir, embed=knowledge.ingestor.embedder.embed)
        await rails.warm_up()
        chat_model = RouterChatModel(settings)
        parts = {
            "chat_model": chat_model,
            "scorer": chat_model,
            "prompt": Prompt.load(settings.prompt_file),
            "retriever": knowledge.retriever,
            "retrieval": retrieval_settings(settings),
        }
        yield Services(
            knowledge=knowledge,
            rails=rails,
            on=ChatService(build(Context(**parts, rails=rails)), settings),
            off=ChatService(build(Context(**parts)), settings),
            parts=parts,
        )
    finally:
        knowledge.close()


def ask(question: str) -> ChatCompletionRequest:
    return ChatCompletionRequest(
        model=MODEL_NAME, messages=[{"role": "user", "content": question}], temperature=0.0
    )


def load_questions(qa_file: Path, limit: int | None = None) -> list[str]:
    """The `question` of each line of a JSONL file, the first `limit` of them."""
    lines = [line for line in qa_file.read_text().splitlines() if line.strip()]
    return [json.loads(line)["question"] for line in lines][:limit]


def corpus_settings(settings: Settings, corpus: Path) -> Settings:
    """Settings whose index is `corpus` alone, kept under DATA_DIR/corpora/<key> so evaluations
    and experiments on the same corpus share one index (incremental, so re-runs are quick);
    the answer cache is off so every question is answered afresh."""
    key = hashlib.sha1(str(corpus.resolve()).encode()).hexdigest()[:12]
    return settings.model_copy(
        update={
            "data_dir": settings.data_dir / "corpora" / key,
            "models_dir": settings.resolved_models_dir,
            "knowledge_base": [corpus],
            "cache_enabled": False,
        }
    )


@contextlib.contextmanager
def scratch_settings(
    settings: Settings, corpus: Path, data_dir: Path | None = None
) -> Iterator[Settings]:
    """Settings over their own data dir (a temporary one unless given), seeded from `corpus`
    unless a knowledge base is configured, so a bench can run beside a serving gateway."""
    with tempfile.TemporaryDirectory(prefix="railyard-bench-") as scratch:
        yield settings.model_copy(
            update={
                "data_dir": data_dir or Path(scratch),
                # The converted local model is reused, not converted again in the scratch dir.
                "models_dir": settings.resolved_models_dir,
                "knowledge_base": settings.knowledge_base or [corpus],
            }
        )
