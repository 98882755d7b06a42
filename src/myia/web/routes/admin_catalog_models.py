"""`/admin/catalog/models`: list, create, edit and delete base models (issue 27, point 4).

Every write goes through the API's service (catalog/base_models.py) with the API's input
schema, so a form is refused exactly where a body would be, by field, with nothing written;
the service clears the catalog cache after a write. Deleting asks first, naming what goes with
the model (catalog/delete_impact.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from myia.api.deps import CacheDep, SessionDep, SettingsDep
from myia.catalog import base_models
from myia.catalog.delete_impact import DeleteImpact, base_model_delete_impact
from myia.catalog.schemas import (
    CAPABILITY_FLAGS,
    CAPABILITY_LIMITS,
    BaseModelCreate,
    BaseModelDetail,
    BaseModelUpdate,
)
from myia.errors import NotFoundError
from myia.web.catalog_forms import (
    BASE_MODEL_FIELDS,
    base_model_shown,
    base_model_values,
    posted,
)
from myia.web.catalog_pages import (
    all_base_models,
    checked_write,
    confirm_delete_page,
    delete_confirmed,
    not_found,
)
from myia.web.deps import AdminViewer, CheckedForm
from myia.web.templating import Viewer, render

router = APIRouter(prefix="/admin/catalog")


def _form_page(
    request: Request,
    settings: SettingsDep,
    viewer: Viewer,
    *,
    model_id: str | None,
    shown: dict[str, Any],
    errors: dict[str, str] | None = None,
    message: str | None = None,
    deployments: list[Any] | None = None,
) -> Response:
    return render(
        request,
        settings,
        "admin/catalog_model.html",
        viewer,
        status_code=422 if errors else 200,
        model_id=model_id,
        shown=shown,
        errors=errors or {},
        message=message,
        deployments=deployments or [],
        flags=CAPABILITY_FLAGS,
        limits=CAPABILITY_LIMITS,
    )


@router.get("/models")
async def models_list(
    request: Request,
    viewer: AdminViewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
    vendor: str = "",
    deleted: str = "",
) -> Response:
    vendor = vendor.strip()[:100]
    models, total = await all_base_models(session=session, cache=cache, vendor=vendor or None)
    return render(
        request,
        settings,
        "admin/catalog_models.html",
        viewer,
        models=models,
        total=total,
        vendor=vendor,
        message=f"Deleted {deleted[:200]}." if deleted else None,
    )


@router.get("/models/new")
async def new_model_page(request: Request, viewer: AdminViewer, settings: SettingsDep) -> Response:
    return _form_page(request, settings, viewer, model_id=None, shown=base_model_shown(None))


@router.post("/models")
async def create_model(
    request: Request,
    form: CheckedForm,
    viewer: AdminViewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
) -> Response:
    errors: dict[str, str] = {}

    async def write(data: BaseModelCreate) -> BaseModelDetail:
        return await base_models.create_base_model(session=session, cache=cache, data=data)

    created = await checked_write(BaseModelCreate, base_model_values(form, errors), errors, write)
    if created is not None:
        return RedirectResponse(f"/admin/catalog/models/{created.id}/edit?saved=1", 303)
    shown = posted(form, BASE_MODEL_FIELDS, ("deprecated",))
    return _form_page(request, settings, viewer, model_id=None, shown=shown, errors=errors)


@router.get("/models/{model_id}/edit")
async def edit_model_page(
    request: Request,
    model_id: str,
    viewer: AdminViewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
    saved: str = "",
) -> Response:
    try:
        model = await base_models.get_base_model(
            session=session, cache=cache, model_id=model_id[:36]
        )
    except NotFoundError:
        return not_found(request, settings, viewer, "base model")
    return _form_page(
        request,
        settings,
        viewer,
        model_id=model.id,
        shown=base_model_shown(model),
        message="Saved." if saved else None,
        deployments=list(model.deployments),
    )


@router.post("/models/{model_id}/edit")
async def update_model(
    request: Request,
    model_id: str,
    form: CheckedForm,
    viewer: AdminViewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
) -> Response:
    errors: dict[str, str] = {}

    async def write(data: BaseModelUpdate) -> BaseModelDetail:
        return await base_models.update_base_model(
            session=session, cache=cache, model_id=model_id[:36], data=data
        )

    try:
        saved = await checked_write(BaseModelUpdate, base_model_values(form, errors), errors, write)
    except NotFoundError:
        return not_found(request, settings, viewer, "base model")
    if saved is not None:
        return RedirectResponse(f"/admin/catalog/models/{saved.id}/edit?saved=1", 303)
    shown = posted(form, BASE_MODEL_FIELDS, ("deprecated",))
    return _form_page(request, settings, viewer, model_id=model_id, shown=shown, errors=errors)


def _impact(session: SessionDep, model_id: str) -> Callable[[], Awaitable[DeleteImpact]]:
    return lambda: base_model_delete_impact(session=session, model_id=model_id[:36])


@router.get("/models/{model_id}/delete")
async def delete_model_page(
    request: Request, model_id: str, viewer: AdminViewer, session: SessionDep, settings: SettingsDep
) -> Response:
    return await confirm_delete_page(
        request,
        settings,
        viewer,
        kind="base model",
        impact=_impact(session, model_id),
        base=f"/admin/catalog/models/{model_id}",
    )


@router.post("/models/{model_id}/delete")
async def delete_model(
    request: Request,
    model_id: str,
    form: CheckedForm,
    viewer: AdminViewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
) -> Response:
    async def delete() -> None:
        await base_models.delete_base_model(session=session, cache=cache, model_id=model_id[:36])

    return await delete_confirmed(
        request,
        settings,
        viewer,
        form,
        kind="base model",
        impact=_impact(session, model_id),
        delete=delete,
        base=f"/admin/catalog/models/{model_id}",
    )
