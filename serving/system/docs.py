"""The OpenAPI schema and its Swagger page, behind the same rule as the admin endpoints: an
admin key when keys are on (the schema maps every endpoint an attacker could try). The page's
scripts and styles are served from here (Swagger UI 5, which reads OpenAPI 3.1, as the
`fastapi-offline` package ships it), not a CDN: `/docs` works on a machine without internet."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Depends, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from serving.access.dependency import require_admin
from serving.errors import NotFound

router = APIRouter(dependencies=[Depends(require_admin)], include_in_schema=False)
ASSETS = Path(fastapi_offline.__file__).parent / "static"
SERVED = {"swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"}


@router.get("/openapi.json")
async def openapi(request: Request) -> dict:
    return request.app.openapi()


@router.get("/docs")
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="railyard API",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/docs/assets/favicon.png",
        # No badge fetched from swagger.io's online validator: the page asks nothing off-host.
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get("/docs/assets/{name}")
async def asset(name: str) -> FileResponse:
    if name not in SERVED:
        raise NotFound(f"No docs asset {name!r}.")
    return FileResponse(ASSETS / name)
