"""Ingestion over HTTP, for `railyard ingest run` while the server owns the milvus-lite dir.
Admin keys only; every path must lie under an ingest root (RAILYARD_INGEST_ROOTS, default the
knowledge base folders), checked before the path is looked at, so the endpoint is no oracle of
what exists elsewhere on the server. Also what the console's knowledge and experiment pages
read: the ingest roots, the indexed documents (lineage: content hash, chunks, index version),
and the fallback experiment reports with their plots."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from serving.access.dependency import require_admin
from serving.errors import InvalidRequest, NotFound

router = APIRouter(dependencies=[Depends(require_admin)])


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    paths: list[str] = Field(min_length=1)


def outside(paths: list[str], roots: list[Path]) -> list[str]:
    """The paths that do not lie under any root once resolved (symlinks followed)."""
    return [p for p in paths if not any(Path(p).resolve().is_relative_to(r) for r in roots)]


@router.post("/v1/admin/ingest")
async def ingest(body: IngestRequest, request: Request) -> dict:
    roots = request.app.state.settings.resolved_ingest_roots
    refused = await asyncio.to_thread(outside, body.paths, roots)
    if refused:
        raise InvalidRequest(
            f"Path is not under an ingest root (RAILYARD_INGEST_ROOTS): {', '.join(refused)}",
            param="paths",
        )
    exists = await asyncio.to_thread(lambda: [Path(p).exists() for p in body.paths])
    missing = [p for p, ok in zip(body.paths, exists, strict=True) if not ok]
    if missing:
        raise InvalidRequest(f"Path does not exist: {', '.join(missing)}", param="paths")
    return await request.app.state.knowledge.ingest(body.paths)


@router.get("/v1/admin/ingest/runs")
async def runs(request: Request) -> dict:
    return {"data": request.app.state.knowledge.ingestor.manifest.runs()}


@router.get("/v1/admin/ingest/roots")
async def roots(request: Request) -> dict:
    """The folders ingestion may index, and whether each exists."""
    folders = request.app.state.settings.resolved_ingest_roots
    return {
        "object": "list",
        "data": [{"path": str(p), "exists": p.is_dir()} for p in folders],
    }


@router.get("/v1/admin/documents")
async def documents(request: Request) -> dict:
    """The indexed documents: root, source, content hash and chunk count; and the index
    version they make up."""
    manifest = request.app.state.knowledge.ingestor.manifest
    records, version = await asyncio.to_thread(
        lambda: (manifest.documents(), manifest.index_version())
    )
    rows = [
        {"root": d.root, "source": d.source, "content_hash": d.content_hash,
         "chunks": len(d.chunk_ids)}
        for d in sorted(records.values(), key=lambda d: (d.root, d.source))
    ]  # fmt: skip
    return {"object": "list", "index_version": version, "data": rows}


def _reports(folder: Path) -> list[Path]:
    """Report files under the experiments folder, newest first."""
    found = [p for p in folder.glob("*/report.json") if p.is_file()]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


@router.get("/v1/admin/experiments")
async def experiments(request: Request) -> dict:
    """Every `railyard experiment fallback` report under RAILYARD_EXPERIMENTS_DIR, newest
    first, each with its folder name, time, and whether it has a plot."""
    folder = request.app.state.settings.experiments_dir

    def read() -> list[dict]:
        rows = []
        for path in _reports(folder):
            try:
                report = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                rows.append({"name": path.parent.name, "error": f"unreadable: {exc}"})
                continue
            rows.append({
                "name": path.parent.name, "modified": path.stat().st_mtime,
                "plot": (path.parent / "fallback.png").is_file(), "report": report,
            })  # fmt: skip
        return rows

    rows = await asyncio.to_thread(read)
    return {"object": "list", "folder": str(folder.resolve()), "data": rows}


@router.get("/v1/admin/experiments/{name}/plot.png")
async def experiment_plot(name: str, request: Request) -> FileResponse:
    folder = request.app.state.settings.experiments_dir
    # Only a folder the listing names: never a path built from the request.
    plots = {p.parent.name: p.parent / "fallback.png" for p in _reports(folder)}
    plot = plots.get(name)
    if plot is None or not plot.is_file():
        raise NotFound(f"No experiment plot named '{name}'.", param="name")
    return FileResponse(plot, media_type="image/png")
