"""A run killed with SIGKILL mid-write leaves the previous version fully searchable, and the
next run converges with no duplicates or leftovers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from ingest.configuration import IngestConfig
from ingest.graph import Ingestor
from ingest.retriever import HybridRetriever
from tests.ingest.test_incremental import assert_consistent
from tests.support.processes import BIN, ROOT, clean_env

SAMPLE = ROOT / "examples" / "knowledge-base" / "travel-and-leave"
MARKER = "Revision two marker: the zebra policy applies."


def ingest_cli(data_dir: Path, corpus: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "railyard"), "ingest", "run", str(corpus), "--json"],
        env=clean_env(RAILYARD_DATA_DIR=str(data_dir)),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def pending_rows(manifest: Path) -> int:
    try:
        with sqlite3.connect(f"file:{manifest}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM manifest_pending").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_sigkill_mid_run_keeps_the_old_index(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE, corpus)
    for extra in sorted(corpus.rglob("*.md"))[8:]:
        extra.unlink()
    data_dir = tmp_path / "data"
    first = ingest_cli(data_dir, corpus)
    out, _ = first.communicate(timeout=600)
    assert first.returncode == 0
    v1 = json.loads(out.decode().strip().splitlines()[-1])
    assert v1["added"] == 8

    committed = v1["index_version"]
    for attempt in range(1, 4):
        marker = f"{MARKER} Attempt {attempt}."
        for doc in corpus.rglob("*.md"):
            doc.write_text(doc.read_text() + f"\n\n{marker}\n")
        second = ingest_cli(data_dir, corpus)
        deadline = time.monotonic() + 600
        while pending_rows(data_dir / "index" / "manifest.sqlite") == 0:
            assert second.poll() is None, "the run finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        os.killpg(second.pid, signal.SIGKILL)  # while it writes the new rows
        second.wait()
        ingestor = Ingestor(IngestConfig(data_dir=data_dir / "index"), embedder=embedder)
        if ingestor.manifest.index_version() == committed:
            break
        # The run won the race and committed: that version is now the one to keep.
        committed = ingestor.manifest.index_version()
        ingestor.close()
    else:
        raise AssertionError("no kill landed before the commit in 3 attempts")

    try:
        retriever = HybridRetriever(ingestor.store, ingestor.manifest, embedder)
        hits = retriever.search("zebra policy revision two marker", k=10).hits
        assert hits and all(marker not in h.text for h in hits)
        assert len({h.chunk_id for h in hits}) == len(hits)

        summary = ingestor.run([corpus])
        assert (summary["updated"], summary["unchanged"]) == (8, 0)
        assert_consistent(ingestor)
        top = retriever.search("zebra policy revision two marker", k=1).hits[0]
        assert marker in top.text
    finally:
        ingestor.close()
