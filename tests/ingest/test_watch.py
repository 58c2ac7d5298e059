"""`railyard ingest watch` picks up an edit and re-ingests only that document."""

from __future__ import annotations

import hashlib
import json
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from tests.support.knowledge import write_corpus
from tests.support.processes import BIN, clean_env


def documents(manifest: Path) -> dict[str, str]:
    try:
        with sqlite3.connect(f"file:{manifest}?mode=ro", uri=True, timeout=1) as db:
            rows = db.execute("SELECT source, content_hash FROM manifest_documents").fetchall()
            return dict(rows)
    except sqlite3.OperationalError:
        return {}


def wait_for(condition, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_watch_reingests_an_edited_file(tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    data_dir = tmp_path / "data"
    manifest = data_dir / "index" / "manifest.sqlite"
    watcher = subprocess.Popen(
        [str(BIN / "railyard"), "ingest", "watch", str(corpus)],
        env=clean_env(RAILYARD_DATA_DIR=str(data_dir)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(lambda: len(documents(manifest)) == 4)
        before = documents(manifest)
        edited = corpus / "tools" / "laptops.txt"
        edited.write_text("Laptops are now shipped to your home a week before you start.")
        new_hash = hashlib.sha256(edited.read_bytes()).hexdigest()
        wait_for(lambda: documents(manifest).get("tools/laptops.txt") == new_hash)
        after = documents(manifest)
        assert {s for s in after if after[s] != before[s]} == {"tools/laptops.txt"}
        with sqlite3.connect(f"file:{manifest}?mode=ro", uri=True) as db:
            summaries = [json.loads(s) for (s,) in db.execute("SELECT summary FROM manifest_runs")]
        assert any(s["updated"] == 1 and s["unchanged"] == 3 for s in summaries)
    finally:
        watcher.send_signal(signal.SIGINT)
        try:
            watcher.wait(30)
        except subprocess.TimeoutExpired:
            watcher.kill()
