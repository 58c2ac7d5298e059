"""Conversation threads' contract, on both places railyard keeps them: LangGraph's checkpointer
with the retention records beside it, in DATA_DIR/checkpoints.sqlite, or in the replicas'
Postgres. A thread written is read back whole on a new saver (a restart, another replica); a
thread unused past the retention period is deleted through the saver's own `adelete_thread`,
and a thread used since is kept."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from langgraph.checkpoint.base import empty_checkpoint

from serving.chat.checkpoints import checkpoint_database, checkpointer
from serving.chat.threads import ThreadRetention
from serving.settings import Settings
from tests.support.processes import new_database


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        return Settings(data_dir=tmp_path)
    url = new_database(request.getfixturevalue("database_url"), "threads")
    return Settings(data_dir=tmp_path, database_url=url)


def thread(thread_id: str) -> dict:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}


async def write_turn(saver, thread_id: str, said: str) -> None:
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {"messages": [{"role": "user", "content": said}]}
    checkpoint["channel_versions"] = {"messages": 1}
    await saver.aput(thread(thread_id), checkpoint, {"source": "loop", "step": 1}, {"messages": 1})


async def test_a_thread_is_read_back_by_a_new_saver(settings):
    async with checkpointer(settings) as saver:
        await write_turn(saver, "t-kept", "How much sick leave do I earn?")
    async with checkpointer(settings) as saver:  # a restart, or another replica
        found = await saver.aget_tuple(thread("t-kept"))
        assert found.checkpoint["channel_values"]["messages"][0]["content"].startswith("How much")
        assert await saver.aget_tuple(thread("t-never")) is None


async def test_threads_unused_past_retention_are_deleted_and_the_others_kept(settings):
    database = checkpoint_database(settings)
    try:
        async with checkpointer(settings) as saver:
            retention = ThreadRetention(database, saver, retention_days=1)
            await write_turn(saver, "t-old", "first")
            await retention.used("t-old")
            between = time.time()
            await asyncio.sleep(0.05)
            await write_turn(saver, "t-new", "second")
            await retention.used("t-new")
            assert await retention.prune(now=between + retention.retention_s) == ["t-old"]
            assert await saver.aget_tuple(thread("t-old")) is None
            assert await saver.aget_tuple(thread("t-new")) is not None
            assert await retention.prune(now=between + retention.retention_s) == []
    finally:
        database.close()
