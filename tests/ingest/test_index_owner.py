"""Who has the embedded index open (`ingest.store.held_elsewhere`, how `railyard ingest` knows to
hand its run to a running server): nobody, this process (a watcher that ingested a moment ago),
or another process, told apart by the kernel's lock table."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

from ingest.store import held_elsewhere


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
