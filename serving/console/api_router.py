"""GET /ui: the web console, one static page and its assets, committed under static/ (no build
step, nothing fetched from a CDN). The page holds no data: it asks the API with the key the
user gives it (kept in the tab's sessionStorage), so every figure it shows is the API's.

Its Content-Security-Policy allows only this origin's scripts and styles and no inline script:
answers, passages and file names are untrusted text and the page only ever sets them as text."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

from serving.errors import NotFound

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static"
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
ASSETS = {p.name: p for p in STATIC.iterdir() if p.suffix in TYPES and p.name != "index.html"}
"""What /ui/{name} serves: the files shipped, by name (never a path built from the request)."""


@router.get("/ui")
async def console() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=HEADERS)


@router.get("/ui/")
async def console_slash() -> RedirectResponse:
    return RedirectResponse("/ui", status_code=308)


@router.get("/ui/{name}")
async def asset(name: str) -> FileResponse:
    path = ASSETS.get(name)
    if path is None:
        raise NotFound(f"No console asset named '{name}'.", param="name")
    return FileResponse(path, media_type=TYPES[path.suffix], headers=HEADERS)
