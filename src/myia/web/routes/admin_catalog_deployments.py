"""`/admin/catalog/deployments`: create, edit and delete deployments (issue 27, point 4).

The forms carry every field of the API's deployment body: provider and base model, the
provider's model id, inference type, capability overrides, `provider_config` and
`custom_params` as JSON, and the price with its source. Writes go through the API's service
(catalog/deployments.py, with `via=admin` and the admin's email), so each price change is
recorded by `record_price_change` and shows in the model's price history.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from myia.api.deps import CacheDep, SessionDep, SettingsDep
from myia.catalog import deployments, providers
from myia.catalog.delete_impact import DeleteImpact, deployment_delete_impact
from myia.catalog.deployment_prices import get_deployment_prices
from myia.catalog.filters import MAX_PAGE_SIZE, ProviderFilters
from myia.catalog.price_history import ChangeVia
from myia.catalog.schemas import (
    CAPABILITY_FLAGS,
    CAPABILITY_LIMITS,
    DeploymentCreate,
    DeploymentPublic,
    DeploymentUpdate,
)
from myia.db.enums import InferenceType, PriceSourceKind
from myia.errors import NotFoundError
from myia.web.catalog_forms import (
    DEPLOYMENT_TEXT,
    OVERRIDE_CHOICES,
    deployment_changes,
    deployment_shown,
    deployment_values,
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
# Latest price changes the edit page lists (the model's price page has the rest).
SHOWN_CHANGES = 10


def _who(viewer: Viewer) -> str | None:
    return viewer.user.email if viewer.user else None


async def deployment_page(
    request: Request,
    settings: SettingsDep,
    viewer: Viewer,
    session: SessionDep,
    cache: CacheDep,
    *,
    shown: dict[str, Any],
    current: DeploymentPublic | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    regional_shown: dict[str, str] | None = None,
    regional_errors: dict[str, str] | None = None,
) -> Response:
    """The deployment form (new, or `current` with its regional prices and latest changes)."""
    found = await providers.list_providers(
        session=session, cache=cache, filters=ProviderFilters(page_size=MAX_PAGE_SIZE)
    )
    models, _ = await all_base_models(session=session, cache=cache)
    choices = [(m.id, f"{m.name} — {m.vendor}") for m in models]
    if current is not None and current.base_model_id not in {m.id for m in models}:
        # Past the listed models: its own is still offered, so the form can be saved as is.
        ref = current.base_model
        choices.insert(0, (ref.id, f"{ref.name} — {ref.vendor}"))
    prices = None
    if current is not None:
        prices = await get_deployment_prices(
            session=session, deployment_id=current.id, limit=SHOWN_CHANGES
        )
    return render(
        request,
        settings,
        "admin/catalog_deployment.html",
        viewer,
        status_code=422 if errors or regional_errors else 200,
        current=current,
        prices=prices,
        shown=shown,
        errors=errors or {},
        regional_shown=regional_shown or {},
        regional_errors=regional_errors or {},
        message=message,
        providers=[(p.id, f"{p.name} ({p.slug})") for p in found.items],
        models=choices,
        inference_types=[(t.value, t.value) for t in InferenceType],
        source_kinds=[(k.value, k.value) for k in PriceSourceKind],
        flags=CAPABILITY_FLAGS,
        limits=CAPABILITY_LIMITS,
        override_choices=OVERRIDE_CHOICES,
    )


@router.get("/deployments/new")
async def new_deployment_page(
    request: Request,
    viewer: AdminViewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
    model_id: str = "",
    provider_id: str = "",
) -> Response:
    shown: dict[str, Any] = {
        "base_model_id": model_id[:36],
        "provider_id": provider_id[:36],
        "inference_type": InferenceType.ON_DEMAND.value,
        "is_active": True,
        "capabilities": {},
    }
    return await deployment_page(request, settings, viewer, session, cache, shown=shown)


@router.post("/deployments")
async def create_deployment(
    request: Request,
    form: CheckedForm,
    viewer: AdminViewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
) -> Response:
    errors: dict[str, str] = {}

    async def write(data: DeploymentCreate) -> DeploymentPublic:
        return await deployments.create_deployment(
            session=session, cache=cache, data=data, via=ChangeVia.ADMIN, changed_by=_who(viewer)
        )

    created = await checked_write(DeploymentCreate, deployment_values(form, errors), errors, write)
    if created is not None:
        return RedirectResponse(f"/admin/catalog/deployments/{created.id}/edit?saved=1", 303)
    shown = posted(form, DEPLOYMENT_TEXT, ("is_active",))
    return await deployment_page(
        request, settings, viewer, session, cache, shown=shown, errors=errors
    )


async def _current(session: SessionDep, cache: CacheDep, row_id: str) -> DeploymentPublic:
    return await deployments.get_deployment(session=session, cache=cache, deployment_id=row_id[:36])


@router.get("/deployments/{deployment_row_id}/edit")
async def edit_deployment_page(
    request: Request,
    deployment_row_id: str,
    viewer: AdminViewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
    saved: str = "",
) -> Response:
    try:
        current = await _current(session, cache, deployment_row_id)
    except NotFoundError:
        return not_found(request, settings, viewer, "deployment")
    return await deployment_page(
        request,
        settings,
        viewer,
        session,
        cache,
        shown=deployment_shown(current),
        current=current,
        message="Saved." if saved else None,
    )


@router.post("/deployments/{deployment_row_id}/edit")
async def update_deployment(
    request: Request,
    deployment_row_id: str,
    form: CheckedForm,
    viewer: AdminViewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
) -> Response:
    errors: dict[str, str] = {}
    try:
        current = await _current(session, cache, deployment_row_id)

        async def write(data: DeploymentUpdate) -> DeploymentPublic:
            return await deployments.update_deployment(
                session=session,
                cache=cache,
                deployment_id=current.id,
                data=data,
                via=ChangeVia.ADMIN,
                changed_by=_who(viewer),
            )

        values = deployment_changes(form, current, errors)
        saved = await checked_write(DeploymentUpdate, values, errors, write)
    except NotFoundError:
        return not_found(request, settings, viewer, "deployment")
    if saved is not None:
        return RedirectResponse(f"/admin/catalog/deployments/{saved.id}/edit?saved=1", 303)
    shown = posted(form, DEPLOYMENT_TEXT, ("is_active",))
    return await deployment_page(
        request, settings, viewer, session, cache, shown=shown, current=current, errors=errors
    )


def _impact(session: SessionDep, row_id: str) -> Callable[[], Awaitable[DeleteImpact]]:
    return lambda: deployment_delete_impact(session=session, deployment_id=row_id[:36])


@router.get("/deployments/{deployment_row_id}/delete")
async def delete_deployment_page(
    request: Request,
    deployment_row_id: str,
    viewer: AdminViewer,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    return await confirm_delete_page(
        request,
        settings,
        viewer,
        kind="deployment",
        impact=_impact(session, deployment_row_id),
        base=f"/admin/catalog/deployments/{deployment_row_id}",
    )


@router.post("/deployments/{deployment_row_id}/delete")
async def delete_deployment(
    request: Request,
    deployment_row_id: str,
    form: CheckedForm,
    viewer: AdminViewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
) -> Response:
    async def delete() -> None:
        await deployments.delete_deployment(
            session=session, cache=cache, deployment_id=deployment_row_id[:36]
        )

    return await delete_confirmed(
        request,
        settings,
        viewer,
        form,
        kind="deployment",
        impact=_impact(session, deployment_row_id),
        delete=delete,
        base=f"/admin/catalog/deployments/{deployment_row_id}",
    )
