"""What the catalog editor's pages share (issue 27, point 4): a validated write that names
each refused field, the page of a row that is gone, and the ask-first delete.

A write is validated by the API's input schema, then handed to the API's service; a
refusal of either is {form field: message} and nothing is written (the services validate
before they change a row, and commit once).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from myia.catalog import base_models
from myia.catalog.cache import CatalogCache
from myia.catalog.delete_impact import DeleteImpact
from myia.catalog.filters import MAX_PAGE_SIZE, BaseModelFilters
from myia.catalog.schemas import BaseModelPublic
from myia.config import Settings
from myia.errors import MyIAError, NotFoundError
from myia.web.catalog_forms import schema_errors
from myia.web.forms import checkbox, service_errors
from myia.web.templating import Viewer, render

SchemaT = TypeVar("SchemaT", bound=BaseModel)
ResultT = TypeVar("ResultT")
CONFIRM_FIELD = "confirm"
NOT_CONFIRMED = "Tick the box to confirm: nothing was deleted."
# Base models a page lists (the list, the deployment form's choice); past it, filter by vendor.
MAX_LISTED_MODELS = 2_000


async def all_base_models(
    *, session: AsyncSession, cache: CatalogCache, vendor: str | None = None
) -> tuple[list[BaseModelPublic], int]:
    """Up to MAX_LISTED_MODELS base models by name, and how many there are."""
    found: list[BaseModelPublic] = []
    page = 1
    while True:
        filters = BaseModelFilters(vendor=vendor, page=page, page_size=MAX_PAGE_SIZE)
        result = await base_models.list_base_models(session=session, cache=cache, filters=filters)
        found += result.items
        if page * MAX_PAGE_SIZE >= min(result.total, MAX_LISTED_MODELS):
            return found[:MAX_LISTED_MODELS], result.total
        page += 1


async def checked_write(
    schema: type[SchemaT],
    values: dict[str, Any],
    errors: dict[str, str],
    write: Callable[[SchemaT], Awaitable[ResultT]],
) -> ResultT | None:
    """`write(schema(values))`, or None with `errors` filled in (the form's own problems,
    already in `errors`, come first). A missing row is raised: the page says it is gone."""
    try:
        data = schema.model_validate(values)
    except ValidationError as exc:
        errors.update({**schema_errors(exc), **errors})
        return None
    if errors:
        return None
    try:
        return await write(data)
    except NotFoundError:
        raise
    except MyIAError as exc:
        errors.update(service_errors(exc))
        return None


def not_found(request: Request, settings: Settings, viewer: Viewer, what: str) -> Response:
    return render(
        request, settings, "admin/catalog_not_found.html", viewer, status_code=404, what=what
    )


async def confirm_delete_page(
    request: Request,
    settings: Settings,
    viewer: Viewer,
    *,
    kind: str,
    impact: Callable[[], Awaitable[DeleteImpact]],
    base: str,
    error: str | None = None,
) -> Response:
    """The ask-first page of a delete at `{base}/delete`: what goes with the row."""
    try:
        found = await impact()
    except NotFoundError:
        return not_found(request, settings, viewer, kind)
    return render(
        request,
        settings,
        "admin/catalog_delete.html",
        viewer,
        status_code=422 if error else 200,
        kind=kind,
        impact=found,
        action=f"{base}/delete",
        back=f"{base}/edit",
        error=error,
    )


async def delete_confirmed(
    request: Request,
    settings: Settings,
    viewer: Viewer,
    form: FormData,
    *,
    kind: str,
    impact: Callable[[], Awaitable[DeleteImpact]],
    delete: Callable[[], Awaitable[None]],
    base: str,
) -> Response:
    """Delete once the box is ticked, else the ask-first page again with nothing deleted."""
    if not checkbox(form, CONFIRM_FIELD):
        return await confirm_delete_page(
            request, settings, viewer, kind=kind, impact=impact, base=base, error=NOT_CONFIRMED
        )
    try:
        name = (await impact()).name
        await delete()
    except NotFoundError:
        return not_found(request, settings, viewer, kind)
    return RedirectResponse(f"/admin/catalog/models?deleted={quote(name)}", 303)
