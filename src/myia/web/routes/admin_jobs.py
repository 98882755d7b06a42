"""`/admin/jobs`: job history, starting a job, a detail whose progress refreshes itself
(htmx polling while the job is active), pause / resume / cancel."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from myia.api.deps import SessionDep, SettingsDep, StateDep
from myia.certification import jobs, queries
from myia.certification.selection import JobSelection
from myia.errors import InvalidInputError, MyIAError, NotFoundError
from myia.queue import service
from myia.web.deps import AdminViewer, CheckedForm, field
from myia.web.forms import service_errors, validation_errors
from myia.web.templating import Viewer, render

router = APIRouter(prefix="/admin")
SCOPES = ("model", "vendor", "region", "all")


async def _jobs_page(
    request: Request,
    viewer: Viewer,
    session: SessionDep,
    settings: SettingsDep,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    context: dict[str, Any] = {
        "jobs": await jobs.list_jobs(session=session, limit=50),
        "regions": settings.default_regions,
        "errors": {},
        "values": {"scope": "model", "models": "", "vendor": "", "regions": []},
    }
    context.update(extra)
    return render(request, settings, "admin/jobs.html", viewer, status_code=status_code, **context)


@router.get("/jobs")
async def jobs_page(
    request: Request, viewer: AdminViewer, session: SessionDep, settings: SettingsDep
) -> Response:
    return await _jobs_page(request, viewer, session, settings)


def _selection(form_values: dict[str, Any]) -> JobSelection:
    scope = form_values["scope"]
    regions = form_values["regions"]
    if scope == "model":
        models = [m.strip() for m in form_values["models"].split(",") if m.strip()]
        if not models:
            raise InvalidInputError("models", "name at least one model")
        return JobSelection(models=models, regions=regions)
    if scope == "vendor":
        return JobSelection(vendor=form_values["vendor"] or None, regions=regions)
    if scope == "region":
        return JobSelection(regions=regions)
    return JobSelection(all=True, regions=regions)


@router.post("/jobs")
async def start_job(
    request: Request,
    form: CheckedForm,
    viewer: AdminViewer,
    session: SessionDep,
    settings: SettingsDep,
    state: StateDep,
) -> Response:
    assert viewer.user is not None
    scope = field(form, "scope")
    values: dict[str, Any] = {
        "scope": scope if scope in SCOPES else "model",
        "models": field(form, "models"),
        "vendor": field(form, "vendor"),
        "regions": [r for r in form.getlist("regions") if isinstance(r, str) and r],
    }
    errors: dict[str, str] = {}
    if values["scope"] == "vendor" and not values["vendor"]:
        errors["vendor"] = "Name a vendor, e.g. Anthropic."
    elif values["scope"] == "region" and not values["regions"]:
        errors["regions"] = "Tick at least one region."
    else:
        try:
            job = await service.submit_job(
                session=session,
                engine=state.queue,
                settings=settings,
                selection=_selection(values),
                created_by=viewer.user.id,
                config={"source": "web"},
            )
        except ValidationError as exc:
            errors = validation_errors(exc)
        except MyIAError as exc:
            errors = service_errors(exc)
        else:
            return RedirectResponse(f"/admin/jobs/{job.id}", status_code=303)
    if "selection" in errors:
        errors["models"] = errors.pop("selection")
    return await _jobs_page(
        request, viewer, session, settings, status_code=422, errors=errors, values=values
    )


async def _detail(session: SessionDep, settings: SettingsDep, job_id: str) -> Any:
    return await queries.job_detail(
        session=session, job_id=job_id, concurrency=settings.queue_concurrency
    )


@router.get("/jobs/{job_id}")
async def job_page(
    request: Request,
    job_id: str,
    viewer: AdminViewer,
    session: SessionDep,
    settings: SettingsDep,
    error: str = "",
) -> Response:
    try:
        detail = await _detail(session, settings, job_id)
    except NotFoundError:
        reason = "No such job (it may have been cleaned)."
        return render(request, settings, "forbidden.html", viewer, status_code=404, reason=reason)
    return render(
        request,
        settings,
        "admin/job_detail.html",
        viewer,
        job=detail,
        active=queries.is_active(detail.status),
        error=error,
    )


@router.get("/jobs/{job_id}/progress")
async def job_progress(
    request: Request, job_id: str, viewer: AdminViewer, session: SessionDep, settings: SettingsDep
) -> Response:
    detail = await _detail(session, settings, job_id)
    return render(
        request,
        settings,
        "admin/job_progress.html",
        viewer,
        job=detail,
        active=queries.is_active(detail.status),
    )


@router.post("/jobs/{job_id}/{action}")
async def job_action(
    job_id: str,
    action: str,
    _form: CheckedForm,
    _viewer: AdminViewer,
    session: SessionDep,
    state: StateDep,
) -> Response:
    try:
        if action == "pause":
            await jobs.pause_job(session=session, job_id=job_id)
        elif action == "resume":
            await service.resume_job(session=session, engine=state.queue, job_id=job_id)
        elif action == "cancel":
            await jobs.cancel_job(session=session, job_id=job_id)
        else:
            raise NotFoundError("job action", action)
    except MyIAError as exc:
        return RedirectResponse(f"/admin/jobs/{job_id}?error={quote(str(exc))}", status_code=303)
    return RedirectResponse(f"/admin/jobs/{job_id}", status_code=303)
