"""load: find files, compare their hashes with the manifest, read only what changed."""

from __future__ import annotations

import time
from pathlib import Path

from langgraph.runtime import Runtime

from ingest.context import IngestContext
from ingest.documents import Document, SourceFile
from ingest.errors import DocumentError, SourceError
from ingest.loaders import SUFFIXES, file_hash
from ingest.loaders import load as load_file
from ingest.state import IngestState


def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(
        p for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )  # fmt: skip


def load(state: IngestState, runtime: Runtime[IngestContext]) -> dict:
    manifest, progress = runtime.context.manifest, runtime.context.progress
    changed, unchanged, failed, deleted, previous, ignored = [], [], [], [], {}, 0
    for root_arg in state["roots"]:
        root = Path(root_arg)
        if not root.exists():
            raise SourceError(f"{root_arg} does not exist")
        base = root if root.is_dir() else root.parent
        live = manifest.documents(str(base))
        seen: set[str] = set()
        for path in _files(root):
            if path.suffix.lower() not in SUFFIXES:
                ignored += 1
                continue
            source = path.relative_to(base).as_posix()
            seen.add(source)
            file = SourceFile(str(base), path, source, file_hash(path))
            record = live.get((str(base), source))
            if record and record.content_hash == file.content_hash and not state["reprocess"]:
                unchanged.append(source)
                continue
            if record:
                previous[f"{base}\0{source}"] = record
            changed.append(file)
        if root.is_dir():
            deleted += [r for (_, source), r in live.items() if source not in seen]
    documents: list[Document] = []
    for done, file in enumerate(changed, 1):
        try:
            documents.append(load_file(file))
        except DocumentError as e:
            failed.append({"source": e.source, "reason": e.reason})
        progress("load", done, len(changed))
    return {
        "started_at": state.get("started_at") or time.time(),
        "changed": changed,
        "unchanged": unchanged,
        "deleted": deleted,
        "previous": previous,
        "documents": documents,
        "failed": failed,
        "ignored": ignored,
    }
