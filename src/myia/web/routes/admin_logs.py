"""`/admin/logs`: the `logs` table with `myia logs`'s filters, newest first, paged by keyset.

A request id pasted from a user's error message finds that request's lines in one step."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from myia.api.deps import SessionDep, SettingsDep
from myia.errors import InvalidInputError
from myia.observability.log_queries import (
    DEFAULT_LIMIT,
    LEVELS,
    MAX_FILTER_CHARS,
    LogPage,
    make_filter,
    query_logs,
)
from myia.web.deps import AdminViewer
from myia.web.forms import service_errors
from myia.web.templating import render

router = APIRouter(prefix="/admin")
FILTERS = ("level", "since", "logger", "request_id")


@router.get("/logs")
async def logs_page(
    request: Request, viewer: AdminViewer, session: SessionDep, settings: SettingsDep
) -> Response:
    query = request.query_params
    values = {name: query.get(name, "")[: MAX_FILTER_CHARS + 1] for name in FILTERS}
    before = query.get("before", "")[:120] or None
    errors: dict[str, str] = {}
    page = LogPage(lines=[], next_cursor=None)
    try:
        filters = make_filter(**values)
        page = await query_logs(
            session=session, filters=filters, limit=DEFAULT_LIMIT, before=before
        )
    except InvalidInputError as exc:
        errors = service_errors(exc)
    return render(
        request,
        settings,
        "admin/logs.html",
        viewer,
        status_code=422 if errors else 200,
        values=values,
        levels=LEVELS,
        page=page,
        before=before,
        errors=errors,
    )
