"""The dashboard: a browser page served by ``headrace server`` at ``/``.

It is plain HTML, CSS and JavaScript modules in ``static/`` (shipped in the wheel; no
build step, no CDN, nothing fetched from elsewhere), a thin layer over the same REST API
every client uses: it logs in with ``POST /api/v1/session`` (an HttpOnly cookie plus a
CSRF token) and then calls ``/api/v1/...`` like any client, so the server checks every
permission exactly as for the CLI. Pages are addressed by the URL fragment
(``/#/runs/<id>``), so the server serves one page and the static files.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

STATIC_DIRECTORY = Path(__file__).with_name("static")
STATIC_PREFIX = "/dashboard"
# Scripts and styles only from the server itself; frames only from it (sandboxed
# visualizations); nobody may frame the dashboard.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "frame-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}


async def index(request: Request) -> Response:
    """The dashboard's one page (every view is a fragment of it)."""
    return FileResponse(STATIC_DIRECTORY / "index.html", headers=PAGE_HEADERS)


def install_dashboard(app: FastAPI) -> None:
    """Serve the page at ``/`` and its files under ``/dashboard/``."""
    app.add_route("/", index, methods=["GET"], include_in_schema=False)
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIRECTORY), name="dashboard")
