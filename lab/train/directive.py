"""`railyard train directive`: fit the model behind rails/injection/directive.py and write
rails/injection/directive.json.

Only development data is read: BIPIA's *train* half (its attack instructions, text and code,
as tasks given to an assistant; its email contexts as documents), railyard's own red-team
prompts (evals/redteam/attacks.jsonl) as tasks, and the sentences of the 18F handbook as
documents. BIPIA's test half and the Sourcegraph handbook are left for reporting
(`railyard eval bipia`). Only requests (imperatives and questions: what the rail looks at) are
fitted: a logistic regression on their MiniLM embeddings.

The threshold is chosen on out-of-fold probabilities (folds by document and by instruction, so
no sentence is scored by a model that saw it): the lowest at which at most `max_chunk_fp` of the
18F handbook's chunks and of BIPIA's train emails would lose a sentence. The JSON records the
data, the folds' figures at that threshold and the fit's settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ingest.chunking import chunk_document
from ingest.cleaning import clean_text
from ingest.configuration import IngestConfig
from ingest.documents import CleanDocument, SourceFile
from ingest.embedder import MiniLMEmbedder
from ingest.loaders import SUFFIXES, file_hash, load
from lab.jsonl import read_jsonl
from rails.injection.directive import WEIGHTS, directs_answer, requests
from rails.retrieval.scan import units

FOLDS = 5


def corpus_chunks(root: Path, embedder: MiniLMEmbedder) -> list[str]:
    """The corpus's chunks as `railyard ingest` cuts them (default chunk settings)."""
    config = IngestConfig(data_dir=root)  # only its chunk settings are read
    chunks = []
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in SUFFIXES):
        try:
            doc = load(SourceFile(str(root), path, str(path.relative_to(root)), file_hash(path)))
        except Exception:  # a file ingestion would skip is skipped here too
            continue
        text = clean_text(doc.text)
        if text:
            clean = CleanDocument(doc.root, doc.source, doc.content_hash, text, doc.title, {})
            chunks += [
                c.text
                for c in chunk_document(
                    clean, embedder.count_tokens, config.chunk_tokens, config.chunk_overlap
                )
            ]
    return chunks


def sentences_of(text: str) -> list[str]:
    return [" ".join(text[a:b].split()) for a, b in units(text)]


def fit(bipia: Path, corpus: Path, attacks: Path, max_chunk_fp: float = 0.01) -> dict[str, Any]:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    embedder = MiniLMEmbedder()
    # Groups: one per document (chunk, email) and one per task instruction.
    documents = [row["context"] for row in read_jsonl(bipia / "email" / "train.jsonl")]
    emails = len(documents)
    documents += corpus_chunks(corpus, embedder)
    tasks = _tasks(bipia, attacks)

    rows = _labelled(documents, tasks)
    x = np.array(embedder.embed([s for s, _, _ in rows]))
    y = np.array([label for _, label, _ in rows])
    groups = np.array([group for _, _, group in rows])

    def model():
        return LogisticRegression(C=1.0, class_weight="balanced", max_iter=5000)

    out_of_fold = np.zeros(len(rows))
    for fold in range(FOLDS):
        held = groups % FOLDS == fold
        out_of_fold[held] = model().fit(x[~held], y[~held]).predict_proba(x[held])[:, 1]

    def touched(threshold: float, first: int, last: int) -> float:
        return len(_hit(groups, out_of_fold, y, 0, threshold, first, last)) / max(1, last - first)

    def caught(threshold: float) -> float:
        return len(_hit(groups, out_of_fold, y, 1, threshold)) / len(tasks)

    candidates = np.round(np.arange(0.5, 1.0, 0.01), 2)
    threshold = next(
        float(t)
        for t in candidates
        if touched(t, emails, len(documents)) <= max_chunk_fp and touched(t, 0, emails) <= 0.02
    )
    final = model().fit(x, y)
    return {
        "weights": [round(float(w), 6) for w in final.coef_[0]],
        "bias": round(float(final.intercept_[0]), 6),
        "threshold": threshold,
        "fitted_on": {
            "tasks": f"{len(tasks)} (BIPIA train text and code attacks, {attacks.name})",
            "documents": f"{emails} BIPIA train emails, {len(documents) - emails} chunks of "
            f"{corpus.name}",
            "sentences": {"task": int(y.sum()), "document": int(len(y) - y.sum())},
            "model": "LogisticRegression(C=1, class_weight=balanced) on MiniLM embeddings of "
            "requests (3+ words, not directing the answer)",
        },
        "out_of_fold_at_threshold": {
            "tasks_caught": round(caught(threshold), 3),
            "corpus_chunks_touched": round(touched(threshold, emails, len(documents)), 4),
            "bipia_train_emails_touched": round(touched(threshold, 0, emails), 4),
            "max_chunk_fp": max_chunk_fp,
        },
    }


def _tasks(bipia: Path, attacks: Path) -> list[str]:
    """The task instructions: BIPIA's train text and code attacks, and the red-team prompts."""
    names = ("text_attack_train.json", "code_attack_train.json")
    planted = [t for n in names for ts in json.loads((bipia / n).read_text()).values() for t in ts]
    return planted + [row["prompt"] for row in read_jsonl(attacks)]


def _hit(groups, scores, labels, label: int, threshold: float, first=0, last=None) -> set:
    """The groups (documents or tasks) of `label` with a sentence scored at the threshold or
    above, among groups first..last."""
    return {
        g for g, p, y in zip(groups, scores, labels, strict=True)
        if y == label and first <= g < (last if last is not None else float("inf"))
        and p >= threshold
    }  # fmt: skip


def _labelled(documents: list[str], tasks: list[str]) -> list[tuple[str, int, int]]:
    """(sentence, label, group) rows: documents' sentences 0, task instructions' 1, one group
    per document or task; only what the rail looks at: requests of 3 words or more that do not
    already direct the answer."""
    rows: list[tuple[str, int, int]] = []
    for group, text in enumerate(documents):
        rows += [(s, 0, group) for s in sentences_of(text)]
    for offset, text in enumerate(tasks):
        rows += [(s, 1, len(documents) + offset) for s in sentences_of(text)]
    is_request = requests([s for s, _, _ in rows])
    return [
        r
        for r, request in zip(rows, is_request, strict=True)
        if request and len(r[0].split()) >= 3 and not directs_answer(r[0])
    ]


def write(report: dict[str, Any], path: Path = WEIGHTS) -> None:
    path.write_text(json.dumps(report, indent=1) + "\n")
