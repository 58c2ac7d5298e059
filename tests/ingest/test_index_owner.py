"""Who has the embedded index open (`ingest.store.held_elsewhere`, how `railyard ingest` knows to
hand its run to a running server): nobody, this process (a watcher that ingested a moment ago),
or another process, told apart by the kernel's lock table."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

from ingest.store import MilvusStore, held_elsewhere
from tests.support.concurrency import at_once


def test_only_another_processs_lock_counts(tmp_path: Path):
    index = tmp_path / "milvus.db"
    index.mkdir()
    lock = index / "LOCK"
    lock.touch()
    assert not held_elsewhere(str(index))
    fd = os.open(lock, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert not held_elsewhere(str(index))  # our own hold
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR);"
         " fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)", str(lock)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        assert held_elsewhere(str(index))
    finally:
        holder.kill()
        holder.wait()
    assert not held_elsewhere(str(index))  # released when its holder dies


def test_stores_opened_at_once_on_a_new_index_share_one_collection(tmp_path: Path):
    """Two stores that open a new index at the same moment (the watcher and the server in one
    process; replicas on one Milvus server) both see "no collection" and both create it: the
    second is told it exists, and opens it."""
    uri = str(tmp_path / "milvus.db")
    first = MilvusStore(uri, "first", dim=8)  # milvus-lite's server starts once per process
    opened, failed = at_once(lambda: MilvusStore(uri, "chunks", dim=8))
    opened.insert(0, first)
    try:
        assert not failed, failed
        assert [store.count() for store in opened[1:]] == [0, 0, 0, 0]
    finally:
        for store in opened:
            store.close()
