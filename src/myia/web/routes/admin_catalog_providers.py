"""`/admin/catalog/providers/{id}/edit`: a provider's settings in full (issue 27, point 4).

Slug, name, endpoint (base URL), authentication kind, simulated and active flags, through the
API's service and schema (catalog/providers.py, `ProviderUpdate`). Providers hold no secret
(credentials are each user's own, encrypted elsewhere); a URL that carries one by mistake is
shown masked and kept as stored when sent back unchanged (web/catalog_forms.py). There is no
delete: deployments keep their provider (ON DELETE RESTRICT); a provider is deactivated.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from myia.api.deps import CacheDep, SessionDep, SettingsDep
from myia.catalog import providers
from myia.catalog.schemas import ProviderPublic, ProviderUpdate
from myia.db.enums import AuthType
from myia.errors import NotFoundError
from myia.web.catalog_forms import (
    PROVIDER_TEXT,
    posted,
    provider_changes,
    provider_shown,
)
from myia.web.catalog_pages import checked_write, not_found
from myia.web.deps import AdminViewer, CheckedForm
from myia.web.templating import Viewer, render

router = APIRouter(prefix="/admin/catalog")


def _page(
    request: Request,
    settings: SettingsDep,
    viewer: Viewer,
    provider: ProviderPublic,
    shown: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    message: str | None = None,
) -> Response:
    return render(
        request,
        settings,
        "admin/catalog_provider.html",
        viewer,
        status_code=422 if errors else 200,
        provider=provider,
        shown=shown,
        errors=errors or {},
        message=message,
        auth_types=[(a.value, a.value) for a in AuthType],
    )


@router.get("/providers/{provider_id}/edit")
async def edit_provider_page(
    request: Request,
    provider_id: str,
    viewer: AdminViewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
    saved: str = "",
) -> Response:
    try:
        found = await providers.get_provider(
            session=session, cache=cache, provider_id=provider_id[:36]
        )
    except NotFoundError:
        return not_found(request, settings, viewer, "provider")
    message = "Saved." if saved else None
    return _page(request, settings, viewer, found, provider_shown(found), message=message)


@router.post("/providers/{provider_id}/edit")
async def update_provider(
    request: Request,
    provider_id: str,
    form: CheckedForm,
    viewer: AdminViewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
) -> Response:
    try:
        found = await providers.get_provider(
            session=session, cache=cache, provider_id=provider_id[:36]
        )
    except NotFoundError:
        return not_found(request, settings, viewer, "provider")
    errors: dict[str, str] = {}

    async def write(data: ProviderUpdate) -> ProviderPublic:
        return await providers.update_provider(
            session=session, cache=cache, provider_id=found.id, data=data
        )

    values = provider_changes(form, found, errors)
    if await checked_write(ProviderUpdate, values, errors, write) is not None:
        return RedirectResponse(f"/admin/catalog/providers/{found.id}/edit?saved=1", 303)
    shown = posted(form, PROVIDER_TEXT, ("is_simulated", "is_active"))
    return _page(request, settings, viewer, found, shown, errors=errors)
