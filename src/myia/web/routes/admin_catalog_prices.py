"""A deployment's price in one region or geography, from its edit page (issue 27).

The same service and schema as `PUT/DELETE /api/v2/deployments/{id}/prices/{region}`
(catalog/deployment_prices.py, `RegionalPriceWrite`): each change goes through
`record_price_change` with `via=admin`, is kept in the price history and clears the catalog
cache. A refused form is the edit page again, the error next to the field, nothing written.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from myia.api.deps import CacheDep, SessionDep, SettingsDep
from myia.catalog import deployment_prices, deployments
from myia.catalog.price_history import ChangeVia
from myia.catalog.price_schemas import REGION_PATTERN, DeploymentPricesPublic, RegionalPriceWrite
from myia.errors import NotFoundError
from myia.web.catalog_forms import deployment_shown, regional_price_values
from myia.web.catalog_pages import checked_write, not_found
from myia.web.deps import AdminViewer, CheckedForm
from myia.web.routes.admin_catalog_deployments import deployment_page

router = APIRouter(prefix="/admin/catalog")
REGION_HINT = "A region (eu-west-1) or a geography (eu, us, apac), lower case"


@router.post("/deployments/{deployment_row_id}/prices")
async def set_regional_price(
    request: Request,
    deployment_row_id: str,
    form: CheckedForm,
    viewer: AdminViewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
) -> Response:
    try:
        current = await deployments.get_deployment(
            session=session, cache=cache, deployment_id=deployment_row_id[:36]
        )
    except NotFoundError:
        return not_found(request, settings, viewer, "deployment")
    errors: dict[str, str] = {}
    region, values, shown = regional_price_values(form, errors)
    if not re.fullmatch(REGION_PATTERN, region):
        errors["region"] = REGION_HINT

    async def write(data: RegionalPriceWrite) -> DeploymentPricesPublic:
        return await deployment_prices.set_regional_price(
            session=session,
            cache=cache,
            deployment_id=current.id,
            region=region,
            data=data,
            via=ChangeVia.ADMIN,
            changed_by=viewer.user.email if viewer.user else None,
        )

    if await checked_write(RegionalPriceWrite, values, errors, write) is not None:
        return RedirectResponse(f"/admin/catalog/deployments/{current.id}/edit?saved=1#prices", 303)
    return await deployment_page(
        request,
        settings,
        viewer,
        session,
        cache,
        shown=deployment_shown(current),
        current=current,
        regional_shown=shown,
        regional_errors=errors,
    )


@router.post("/deployments/{deployment_row_id}/prices/{region}/delete")
async def delete_regional_price(
    request: Request,
    deployment_row_id: str,
    region: str,
    form: CheckedForm,
    viewer: AdminViewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
) -> Response:
    """Calls from that region pay the deployment's own price again; the removal is kept in
    the price history."""
    try:
        await deployment_prices.delete_regional_price(
            session=session,
            cache=cache,
            deployment_id=deployment_row_id[:36],
            region=region[:64],
            via=ChangeVia.ADMIN,
            changed_by=viewer.user.email if viewer.user else None,
        )
    except NotFoundError:
        return not_found(request, settings, viewer, "regional price")
    return RedirectResponse(
        f"/admin/catalog/deployments/{deployment_row_id[:36]}/edit?saved=1#prices", 303
    )
