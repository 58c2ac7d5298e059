"""The packaged policy, loaded once into a real NeMo Guardrails engine with the real MiniLM."""

from __future__ import annotations

import pytest

from ingest.embedder import MiniLMEmbedder
from rails import PACKAGED, RailsEngine


@pytest.fixture(scope="session")
async def engine(embedder: MiniLMEmbedder) -> RailsEngine:
    rails = RailsEngine(PACKAGED, embed=embedder.embed)
    await rails.warm_up()
    return rails
