"""Ingestion over HTTP, for `railyard ingest run` while the server owns the milvus-lite dir.
Admin keys only; every path must lie under an ingest root (RAILYARD_INGEST_ROOTS, default the
knowledge base folders), checked before the path is looked at, so the endpoint is no oracle of
what exists elsewhere on the server."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from serving.access.dependency import require_admin
from serving.errors import InvalidRequest

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
