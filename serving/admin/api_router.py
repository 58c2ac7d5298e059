"""Ingestion over HTTP, for `railyard ingest run` while the server owns the milvus-lite dir."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from serving.access.dependency import require_key
from serving.errors import InvalidRequest

router = APIRouter(dependencies=[Depends(require_key)])


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    paths: list[str] = Field(min_length=1)


@router.post("/v1/admin/ingest")
async def ingest(body: IngestRequest, request: Request) -> dict:
    exists = await asyncio.to_thread(lambda: [Path(p).exists() for p in body.paths])
    missing = [p for p, ok in zip(body.paths, exists, strict=True) if not ok]
    if missing:
        raise InvalidRequest(f"Path does not exist: {', '.join(missing)}", param="paths")
    return await request.app.state.knowledge.ingest(body.paths)


@router.get("/v1/admin/ingest/runs")
async def runs(request: Request) -> dict:
    return {"data": request.app.state.knowledge.ingestor.manifest.runs()}
