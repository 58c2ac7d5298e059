"""The OpenAPI schema and its Swagger page, behind the same rule as the admin endpoints: an
admin key when keys are on (the schema maps every endpoint an attacker could try)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from serving.access.dependency import require_admin

router = APIRouter(dependencies=[Depends(require_admin)], include_in_schema=False)


@router.get("/openapi.json")
async def openapi(request: Request) -> dict:
    return request.app.openapi()


@router.get("/docs")
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="railyard API")
