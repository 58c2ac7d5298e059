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


def _files(root: Path) -> tuple[list[Path], list[dict]]:
    """The files under `root` (hidden ones aside), and those refused: links that lead outside
    it (a link to /etc/passwd must not put that file in the index)."""
    if root.is_file():
        return [root], []
    inside = root.resolve()
    files, refused = [], []
    for p in sorted(root.rglob("*")):
        if any(part.startswith(".") for part in p.relative_to(root).parts) or not p.is_file():
            continue
        if not p.resolve().is_relative_to(inside):
            source = p.relative_to(root).as_posix()
            refused.append({"source": source, "reason": "a link to a file outside the folder"})
            continue
        files.append(p)
    return files, refused


def scan(state: IngestState, context: IngestContext) -> dict:
    """The files under the roots compared with the manifest: what changed (to read), what is
    unchanged, deleted or refused. Reads hashes only."""
    manifest = context.manifest
    changed, unchanged, failed, deleted, previous, ignored = [], [], [], [], {}, 0
    for root_arg in state["roots"]:
        root = Path(root_arg)
        if not root.exists():
            raise SourceError(f"{root_arg} does not exist")
        base = root if root.is_dir() else root.parent
        live = manifest.documents(str(base))
        seen: set[str] = set()
        files, refused = _files(root)
        failed += refused
        for path in files:
            if path.suffix.lower() not in SUFFIXES:
                ignored += 1
                continue
            source = path.relative_to(base).as_posix()
            try:
                size = path.stat().st_size
                if size > context.config.max_file_bytes:
                    seen.add(source)  # still there: its indexed version stays
                    limit = context.config.max_file_bytes
                    failed.append({"source": source, "reason": f"{size} bytes, over {limit}"})
                    continue
                file = SourceFile(str(base), path, source, file_hash(path))
            except FileNotFoundError:
                continue  # gone since the listing: it counts as deleted
            except OSError as e:
                seen.add(source)
                failed.append({"source": source, "reason": f"could not be read ({e.strerror})"})
                continue
            seen.add(source)
            record = live.get((str(base), source))
            if record and record.content_hash == file.content_hash and not state["reprocess"]:
                unchanged.append(source)
                continue
            if record:
                previous[f"{base}\0{source}"] = record
            changed.append(file)
        if root.is_dir():
            deleted += [r for (_, source), r in live.items() if source not in seen]
    return {
        "started_at": state.get("started_at") or time.time(),
        "changed": changed,
        "unchanged": unchanged,
        "deleted": deleted,
        "previous": previous,
        "failed": failed,
        "ignored": ignored,
    }


def load(state: IngestState, runtime: Runtime[IngestContext]) -> dict:
    scanned = scan(state, runtime.context)
    changed, failed = scanned["changed"], scanned["failed"]
    documents: list[Document] = []
    for done, file in enumerate(changed, 1):
        try:
            documents.append(load_file(file))
        except DocumentError as e:
            failed.append({"source": e.source, "reason": e.reason})
        runtime.context.progress("load", done, len(changed))
    return scanned | {"documents": documents}
