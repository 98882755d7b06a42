"""Mount the pages, their static files and their error responses on the API's app."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from myia.api.state import AppState
from myia.web.csrf import CsrfError
from myia.web.deps import AdminRequired, LoginRequired
from myia.web.routes import WEB_ROUTERS
from myia.web.templating import render

STATIC_DIR = Path(__file__).parent / "static"


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.myia
    return state


async def _login_required(request: Request, _exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


async def _forbidden(request: Request, exc: Exception) -> Response:
    reason = (
        "This page is for administrators."
        if isinstance(exc, AdminRequired)
        else "This form was refused: its security token is missing or expired. "
        "Reload the page and try again."
    )
    viewer = exc.viewer if isinstance(exc, AdminRequired) else None
    settings = _state(request).settings
    return render(request, settings, "forbidden.html", viewer, status_code=403, reason=reason)


def mount_web(app: FastAPI) -> None:
    for router in WEB_ROUTERS:
        app.include_router(router, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(AdminRequired, _forbidden)
    app.add_exception_handler(CsrfError, _forbidden)
