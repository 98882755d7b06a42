"""`/admin/certifications`: every (deployment, region) certification, filtered, and one in
detail with each test's result, samples and errors."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from myia.api.deps import SessionDep, SettingsDep
from myia.certification import queries
from myia.certification.schemas import CertificationFilters
from myia.certification.scoring import Badge
from myia.db.enums import CertificationStatus
from myia.errors import InvalidInputError
from myia.web.deps import AdminViewer
from myia.web.forms import validation_errors
from myia.web.templating import render

router = APIRouter(prefix="/admin")
PAGE_SIZE = 50


@router.get("/certifications")
async def certifications_page(
    request: Request,
    viewer: AdminViewer,
    session: SessionDep,
    settings: SettingsDep,
    region: str = "",
    status: str = "",
    badge: str = "",
    vendor: str = "",
    page: int = 1,
) -> Response:
    chosen = {"region": region, "status": status, "badge": badge, "vendor": vendor}
    errors: dict[str, str] = {}
    result = None
    try:
        filters = CertificationFilters(
            **{k: v for k, v in chosen.items() if v}, page=max(page, 1), page_size=PAGE_SIZE
        )
        result = await queries.list_certifications(session=session, filters=filters)
    except ValidationError as exc:
        errors = validation_errors(exc)
    except InvalidInputError as exc:
        errors = {exc.field: exc.message}
    return render(
        request,
        settings,
        "admin/certifications.html",
        viewer,
        result=result,
        filters=chosen,
        errors=errors,
        regions=[*settings.default_regions, "global"],
        statuses=[s.value for s in CertificationStatus],
        badges=[b.value for b in Badge],
        page=page,
        pages=max(1, -(-result.total // PAGE_SIZE)) if result else 1,
    )


@router.get("/certifications/{deployment_row_id}/{region}")
async def certification_detail(
    request: Request,
    deployment_row_id: str,
    region: str,
    viewer: AdminViewer,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    found = await queries.list_certifications(
        session=session,
        filters=CertificationFilters(deployment=deployment_row_id, region=region, page_size=1),
    )
    full = await queries.certifications_of(session=session, deployment_ids=[deployment_row_id])
    row = full.get((deployment_row_id, region))
    if not found.items or row is None:
        return render(
            request,
            settings,
            "forbidden.html",
            viewer,
            status_code=404,
            reason=f"No certification of this deployment in {region}.",
        )
    return render(
        request,
        settings,
        "admin/certification_detail.html",
        viewer,
        cert=found.items[0],
        row=row,
        tests=row.test_results or [],
    )
