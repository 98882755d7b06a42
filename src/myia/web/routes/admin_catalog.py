"""`/admin/catalog`: edit providers, base models, deployments and their prices."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from myia.api.deps import CacheDep, SessionDep, SettingsDep
from myia.catalog import base_models, deployments, providers
from myia.catalog.filters import MAX_PAGE_SIZE, ProviderFilters
from myia.catalog.price_check import check_prices
from myia.catalog.price_history import ChangeVia
from myia.catalog.schemas import BaseModelUpdate, DeploymentUpdate, ProviderCreate, ProviderUpdate
from myia.db.enums import PriceSourceKind
from myia.errors import MyIAError
from myia.web.catalog_view import all_deployments
from myia.web.deps import AdminViewer, CheckedForm
from myia.web.forms import as_float, checkbox, non_empty, service_errors, validation_errors
from myia.web.templating import Viewer, render

router = APIRouter(prefix="/admin")
# Rows the page lists per finding of the price check; the counts are complete.
PRICE_CHECK_ROWS = 20


async def _page(
    request: Request,
    viewer: Viewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    found = await providers.list_providers(
        session=session, cache=cache, filters=ProviderFilters(page_size=MAX_PAGE_SIZE)
    )
    context: dict[str, Any] = {
        # The same report as `myia prices check` (one read of the catalog).
        "price_check": await check_prices(session=session, limit=PRICE_CHECK_ROWS),
        "providers": found.items,
        "deployments": await all_deployments(session=session, cache=cache, active=None),
        "errors": {},
        "error_target": None,
        "new_provider": {},
        "posted": {},
        "message": None,
        "auth_types": ("api_key", "aws_credentials"),
    }
    context.update(extra)
    return render(
        request, settings, "admin/catalog.html", viewer, status_code=status_code, **context
    )


@router.get("/catalog")
async def catalog_page(
    request: Request,
    viewer: AdminViewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
    saved: str = "",
) -> Response:
    return await _page(
        request, viewer, session, cache, settings, message="Saved." if saved else None
    )


async def _after(
    request: Request,
    viewer: Viewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
    errors: dict[str, str],
    target: str,
    **extra: Any,
) -> Response:
    if not errors:
        return RedirectResponse(f"/admin/catalog?saved=1#{target}", status_code=303)
    return await _page(
        request,
        viewer,
        session,
        cache,
        settings,
        status_code=422,
        errors=errors,
        error_target=target,
        **extra,
    )


@router.post("/catalog/providers")
async def create_provider(
    request: Request,
    form: CheckedForm,
    viewer: AdminViewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
) -> Response:
    values = non_empty(form, "slug", "name", "base_url", "auth_type")
    errors: dict[str, str] = {}
    try:
        await providers.create_provider(
            session=session, cache=cache, data=ProviderCreate.model_validate(values)
        )
    except ValidationError as exc:
        errors = validation_errors(exc)
    except MyIAError as exc:
        errors = service_errors(exc)
    return await _after(
        request, viewer, session, cache, settings, errors, "new-provider", new_provider=values
    )


@router.post("/catalog/providers/{provider_id}")
async def update_provider(
    request: Request,
    provider_id: str,
    form: CheckedForm,
    viewer: AdminViewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
) -> Response:
    values: dict[str, Any] = non_empty(form, "name", "base_url")
    values["is_active"] = checkbox(form, "is_active")
    errors: dict[str, str] = {}
    try:
        await providers.update_provider(
            session=session, cache=cache, provider_id=provider_id, data=ProviderUpdate(**values)
        )
    except ValidationError as exc:
        errors = validation_errors(exc)
    except MyIAError as exc:
        errors = service_errors(exc)
    return await _after(request, viewer, session, cache, settings, errors, f"p-{provider_id}")


@router.post("/catalog/deployments/{deployment_id}")
async def update_deployment(
    request: Request,
    deployment_id: str,
    form: CheckedForm,
    viewer: AdminViewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
) -> Response:
    """Prices (with their source) and the active flag of a deployment, and the name/vendor
    of its base model."""
    values: dict[str, Any] = non_empty(
        form, "cost_per_1m_input", "cost_per_1m_output", "price_source_name", "price_source_url"
    )
    as_float(values, "cost_per_1m_input")
    as_float(values, "cost_per_1m_output")
    if "price_source_name" in values or "price_source_url" in values:
        values["price_source_kind"] = PriceSourceKind.OPERATOR  # typed here: the operator's
    values["is_active"] = checkbox(form, "is_active")
    model_values = non_empty(form, "name", "vendor")
    errors: dict[str, str] = {}
    try:
        # Both inputs are validated before either write, so a refused name or vendor never
        # leaves the deployment's half of the form saved.
        deployment_data = DeploymentUpdate(**values)
        model_data = BaseModelUpdate.model_validate(model_values) if model_values else None
        updated = await deployments.update_deployment(
            session=session,
            cache=cache,
            deployment_id=deployment_id,
            data=deployment_data,
            via=ChangeVia.ADMIN,
            changed_by=viewer.user.email if viewer.user else None,
        )
        if model_data is not None:
            await base_models.update_base_model(
                session=session,
                cache=cache,
                model_id=updated.base_model_id,
                data=model_data,
            )
    except ValidationError as exc:
        errors = validation_errors(exc)
    except MyIAError as exc:
        errors = service_errors(exc)
    posted = non_empty(
        form,
        "name",
        "vendor",
        "cost_per_1m_input",
        "cost_per_1m_output",
        "price_source_name",
        "price_source_url",
    )
    return await _after(
        request, viewer, session, cache, settings, errors, f"d-{deployment_id}", posted=posted
    )
