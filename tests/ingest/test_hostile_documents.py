"""A hostile or vanishing document is skipped and reported while the rest is indexed, and the
index keeps serving (security review, issue 15 item 12): pypdf's LimitReachedError, a YAML alias
bomb in front matter, a file over the size cap, a link out of the folder, a file deleted
mid-run; one ingestion at a time across processes; searches during a run's reload succeed."""

from __future__ import annotations

import io
import logging
import re
import threading
import time

from pypdf import PdfWriter

from ingest.configuration import IngestConfig
from ingest.graph import Ingestor
from ingest.retriever import HybridRetriever
from storage.locks import file_lock
from tests.support.knowledge import DOCS

ALIAS_BOMB = """---
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
---
# Parking

Visitor parking is on level two of the garage.
"""


def pdf_over_pypdf_limits() -> bytes:
    """A one-page PDF whose cross-reference table declares 99,999,999 entries: pypdf raises
    LimitReachedError (not a PdfReadError) on it."""
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    out = io.BytesIO()
    writer.write(out)
    return re.sub(rb"xref\n0 (\d+)", b"xref\n0 99999999", out.getvalue())


def test_hostile_documents_are_skipped_and_the_rest_indexed(tmp_path, corpus, embedder):
    outside = tmp_path / "secret.md"
    outside.write_text("# Root password\n\nThe root password is hunter2-outside.\n")
    (corpus / "linked.md").symlink_to(outside)
    (corpus / "limits.pdf").write_bytes(pdf_over_pypdf_limits())
    (corpus / "bomb.md").write_text(ALIAS_BOMB)
    (corpus / "huge.txt").write_text("word " * 40_000)  # 200 kB, over the cap below
    config = IngestConfig(data_dir=tmp_path / "index", max_file_bytes=100_000)
    ingestor = Ingestor(config, embedder=embedder)
    try:
        started = time.monotonic()
        summary = ingestor.run([corpus])
        reasons = {f["source"]: f["reason"] for f in summary["failed"]}
        assert set(reasons) == {"linked.md", "limits.pdf", "huge.txt"}
        assert "outside" in reasons["linked.md"]
        assert "LimitReachedError" in reasons["limits.pdf"]
        assert "over 100000" in reasons["huge.txt"]
        # The alias bomb's front matter is refused; its text is indexed like any document.
        assert summary["added"] == len(DOCS) + 1
        assert time.monotonic() - started < 120  # not expanded (would take minutes and GBs)
        hits = HybridRetriever(ingestor.store, ingestor.manifest, embedder).search(
            "root password", k=5
        )
        assert not any("hunter2" in hit.text for hit in hits.hits)
    finally:
        ingestor.close()


def test_a_file_deleted_mid_run_is_reported_and_the_run_completes(ingestor, corpus):
    victims = sorted(p for p in corpus.rglob("*.md"))[-2:]

    def delete_on_first_progress(stage: str, done: int, total: int) -> None:
        if stage == "load" and done == 1:
            for path in victims:
                path.unlink(missing_ok=True)

    summary = ingestor.run([corpus], progress=delete_on_first_progress)
    assert summary["added"] == len(DOCS) - len(victims)
    gone = {p.relative_to(corpus).as_posix() for p in victims}
    assert {f["source"]: f["reason"][:15] for f in summary["failed"]} == dict.fromkeys(
        gone, "could not be re"
    )


def test_one_ingestion_at_a_time_across_processes(ingestor, corpus, caplog):
    """The lock is the kernel's (flock): held here through a file handle of its own, as
    another process would hold it, the run waits and then completes."""
    done = threading.Event()
    with caplog.at_level(logging.INFO, logger="railyard.locks"):
        with file_lock(ingestor.config.lock_path)():
            worker = threading.Thread(target=lambda: (ingestor.run([corpus]), done.set()))
            worker.start()
            deadline = time.monotonic() + 60
            while "another process holds" not in caplog.text:
                assert time.monotonic() < deadline, "the run did not wait for the lock"
                time.sleep(0.05)
            assert not done.is_set()
        worker.join(timeout=300)
    assert done.is_set()


def test_searches_during_a_runs_reload_do_not_fail(ingestor, corpus):
    ingestor.run([corpus])
    retriever = HybridRetriever(ingestor.store, ingestor.manifest, ingestor.embedder)
    errors: list[Exception] = []
    stop = threading.Event()

    def search_loop() -> None:
        while not stop.is_set():
            try:
                retriever.search("how much sick leave do I earn", k=3)
            except Exception as e:  # what a client would have met as a 503
                errors.append(e)

    searcher = threading.Thread(target=search_loop)
    searcher.start()
    try:
        for i in range(3):  # each edit makes a run that flushes, releases and reloads
            (corpus / "leave/sick-leave.md").write_text(f"Employees earn {i + 4} hours a month.")
            ingestor.run([corpus])
    finally:
        stop.set()
        searcher.join()
    assert errors == []
