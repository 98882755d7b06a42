"""SAQ's monitoring UI under /admin/queues, for admins only (distributed queue only).

SAQ's page is a small single-page app whose scripts fetch `/admin/queues/api/...` without
our bearer header, so besides `Authorization: Bearer <token>` a browser may open
`/admin/queues/?token=<token>` once: the token moves into an HttpOnly cookie scoped to this
path and the browser is redirected to the same URL without it (out of the address bar and
history). The UI can retry or abort SAQ jobs; the database stays the record of truth, so an
aborted job's item is queued again by the next sync unless its MyIA job is cancelled.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from myia.api.state import AppState
from myia.auth.tokens import decode_access_token
from myia.db.enums import UserRole
from myia.db.models import User
from myia.errors import AuthenticationError

MOUNT = "/admin/queues"
COOKIE = "myia_queues_token"


class AdminOnly:
    """ASGI guard: 401 without a valid token, 403 for a non-admin, else the wrapped app."""

    def __init__(self, app: ASGIApp, state: AppState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        from_query = request.query_params.get("token")
        token = from_query or _bearer(request) or request.cookies.get(COOKIE)
        refused = await self._refusal(token)
        if refused is not None:
            await refused(scope, receive, send)
            return
        if from_query:
            await self._keep_in_cookie(request, from_query)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _refusal(self, token: str | None) -> Response | None:
        if not token:
            return _problem(401, "not authenticated: send 'Authorization: Bearer <token>'")
        try:
            claims = decode_access_token(token, secret=self.state.settings.jwt_secret)
        except AuthenticationError as exc:
            return _problem(401, str(exc))
        async with self.state.database.session() as session:
            user = await session.get(User, claims.user_id)
        if user is None or not user.is_active:
            return _problem(401, "the token's user no longer exists or is disabled")
        if user.session_version != claims.session_version:
            return _problem(401, "this session has ended: log in again")
        if user.role != UserRole.ADMIN:
            return _problem(403, "the queue dashboard needs the admin role")
        return None

    def _keep_in_cookie(self, request: Request, token: str) -> Response:
        query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
        response = RedirectResponse(request.url.path + (f"?{query}" if query else ""), 303)
        response.set_cookie(
            COOKIE,
            token,
            max_age=self.state.settings.jwt_ttl_minutes * 60,
            path=MOUNT,
            httponly=True,
            secure=request.url.scheme == "https",
            samesite="strict",
        )
        return response


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def _problem(status: int, detail: str) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def mount_queue_ui(app: FastAPI, state: AppState) -> None:
    """Mount SAQ's UI for the app's SAQ queue (a no-op for the embedded engine)."""
    from saq.web.starlette import saq_web

    from myia.queue.saq_engine import SaqEngine

    if not isinstance(state.queue, SaqEngine):
        return
    app.mount(MOUNT, AdminOnly(saq_web(MOUNT, queues=[state.queue.queue]), state))
