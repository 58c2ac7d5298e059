"""Incremental ingestion: unchanged documents are not re-embedded, edits replace, deletions
remove, and the index never holds a duplicate or a stale chunk."""

from __future__ import annotations

import pytest

from ingest.errors import SourceError
from ingest.retriever import HybridRetriever
from tests.support.knowledge import DOCS


def retriever(ingestor) -> HybridRetriever:
    return HybridRetriever(ingestor.store, ingestor.manifest, ingestor.embedder)


def assert_consistent(ingestor) -> None:
    """Every row in Milvus is live, once: no duplicates, no leftovers."""
    live = ingestor.manifest.live_chunk_ids()
    assert ingestor.store.count() == len(live)
    assert set(ingestor.store.vectors(sorted(live))) == live


def test_first_run_indexes_every_document(ingestor, corpus):
    summary = ingestor.run([corpus])
    assert (summary["added"], summary["updated"], summary["unchanged"]) == (len(DOCS), 0, 0)
    assert summary["failed"] == [] and summary["chunks"] >= len(DOCS)
    assert summary["index_version"] == 1
    assert_consistent(ingestor)
    sources = {h.source for h in retriever(ingestor).search("per diem meals rate", k=3).hits}
    assert "travel/per-diem.md" in sources


def test_rerun_of_an_unchanged_corpus_embeds_nothing(ingestor, corpus):
    ingestor.run([corpus])
    rows = ingestor.store.count()
    summary = ingestor.run([corpus])
    assert (summary["added"], summary["updated"], summary["unchanged"]) == (0, 0, len(DOCS))
    assert summary["chunks"] == 0
    assert summary["index_version"] == 1  # nothing changed, no new version
    assert ingestor.store.count() == rows


def test_an_edit_replaces_only_that_document(ingestor, corpus):
    ingestor.run([corpus])
    before = ingestor.manifest.documents()
    (corpus / "leave/sick-leave.md").write_text("Employees earn six hours of sick leave a month.")
    summary = ingestor.run([corpus])
    assert (summary["updated"], summary["unchanged"]) == (1, len(DOCS) - 1)
    after = ingestor.manifest.documents()
    changed = [key for key in after if after[key].chunk_ids != before[key].chunk_ids]
    assert [source for _, source in changed] == ["leave/sick-leave.md"]
    old_ids = before[changed[0]].chunk_ids
    assert ingestor.store.vectors(old_ids) == {}
    top = retriever(ingestor).search("how much sick leave do I earn", k=1).hits[0]
    assert "six hours" in top.text
    assert_consistent(ingestor)


def test_a_deleted_document_leaves_the_index(ingestor, corpus):
    ingestor.run([corpus])
    gone = ingestor.manifest.documents()[(str(corpus), "tools/laptops.txt")].chunk_ids
    (corpus / "tools/laptops.txt").unlink()
    summary = ingestor.run([corpus])
    assert summary["deleted"] == 1
    assert ingestor.store.vectors(gone) == {}
    hits = retriever(ingestor).search("laptop IT service desk", k=5).hits
    assert all(h.source != "tools/laptops.txt" for h in hits)
    assert_consistent(ingestor)


def test_bad_files_are_skipped_and_reported(ingestor, corpus):
    (corpus / "binary.md").write_bytes(b"\x00\x01\x02\x03 binary")
    (corpus / "empty.md").write_text("   \n")
    (corpus / "latin1.txt").write_bytes("café olé".encode("latin-1"))
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a pdf")
    (corpus / "only-tags.md").write_text("{% include header.html %}\n<!-- nothing -->")
    (corpus / "image.png").write_bytes(b"\x89PNG")
    summary = ingestor.run([corpus])
    reasons = {f["source"]: f["reason"] for f in summary["failed"]}
    assert set(reasons) == {"binary.md", "empty.md", "latin1.txt", "broken.pdf", "only-tags.md"}
    assert "binary" in reasons["binary.md"] and "UTF-8" in reasons["latin1.txt"]
    assert "PDF" in reasons["broken.pdf"] and "empty" in reasons["empty.md"]
    assert summary["added"] == len(DOCS)
    assert summary["ignored"] == 1


def test_a_missing_path_is_an_error(ingestor, tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        ingestor.run([tmp_path / "nope"])


def test_front_matter_and_template_tags_do_not_reach_the_index(ingestor, corpus):
    ingestor.run([corpus])
    texts = [h.text for h in retriever(ingestor).search("per diem", k=5).hits]
    assert texts and not any("{%" in t or "title:" in t for t in texts)
    html = retriever(ingestor).search("onboarding buddy", k=1).hits[0]
    assert html.source == "guides/welcome.html" and "var x" not in html.text


def test_a_changed_pipeline_reprocesses_every_document(ingestor, corpus, tmp_path, embedder):
    from dataclasses import replace

    from ingest.graph import Ingestor

    ingestor.run([corpus])
    ingestor.close()
    config = replace(ingestor.config, chunk_tokens=120)
    rechunked = Ingestor(config, embedder=embedder)
    try:
        summary = rechunked.run([corpus])
        assert (summary["updated"], summary["unchanged"]) == (len(DOCS), 0)
        assert rechunked.run([corpus])["unchanged"] == len(DOCS)
        assert_consistent(rechunked)
    finally:
        rechunked.close()
