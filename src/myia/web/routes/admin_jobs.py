"""`/admin/jobs`: job history, starting a job with every selection the job API takes, a
detail whose progress refreshes itself (htmx polling while the job is active), pause /
resume / cancel, and the queue's upkeep: clean (preview, then confirm) and sync."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from myia.api.deps import CacheDep, SessionDep, SettingsDep, StateDep
from myia.catalog.filters import MAX_PAGE_SIZE, ProviderFilters
from myia.catalog.providers import list_providers
from myia.certification import jobs, queries
from myia.certification.selection import JobSelection
from myia.errors import InvalidInputError, MyIAError, NotFoundError
from myia.queue import service
from myia.web.deps import AdminViewer, CheckedForm, field
from myia.web.forms import checkbox, service_errors, validation_errors
from myia.web.templating import Viewer, render

router = APIRouter(prefix="/admin")
SCOPES = ("model", "vendor", "region", "all")
# Which certifications of the selection to run: the API's `recertify` ("" = every pair).
WHICH = ("", "uncertified", "expired", "older_than")
MAX_CLEAN_HOURS = 24 * 3650.0
EMPTY_VALUES: dict[str, Any] = {
    "scope": "model",
    "models": "",
    "vendor": "",
    "provider": "",
    "which": "",
    "older_than_days": "",
    "deep": False,
    "probe_unlisted": False,
    "regions": [],
}


async def _jobs_page(
    request: Request,
    viewer: Viewer,
    session: SessionDep,
    settings: SettingsDep,
    cache: CacheDep,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    providers = await list_providers(
        session=session, cache=cache, filters=ProviderFilters(active=True, page_size=MAX_PAGE_SIZE)
    )
    context: dict[str, Any] = {
        "jobs": await jobs.list_jobs(session=session, limit=50),
        "regions": settings.default_regions,
        "providers": [p.slug for p in providers.items],
        "errors": {},
        "values": dict(EMPTY_VALUES),
        "clean": {
            "completed_after_h": settings.queue_clean_completed_after_h,
            "failed_after_h": settings.queue_clean_failed_after_h,
        },
        "clean_errors": {},
        "clean_preview": None,
        "notice": "",
    }
    context.update(extra)
    return render(request, settings, "admin/jobs.html", viewer, status_code=status_code, **context)


@router.get("/jobs")
async def jobs_page(
    request: Request,
    viewer: AdminViewer,
    session: SessionDep,
    settings: SettingsDep,
    cache: CacheDep,
) -> Response:
    return await _jobs_page(request, viewer, session, settings, cache)


def _older_than_days(text: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 3650:
        raise InvalidInputError("older_than_days", "a whole number of days from 1 to 3650")
    return int(text)


def _max_cost(text: str) -> float | None:
    """The form's cost cap in USD (empty: none); its bounds are the selection's."""
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidInputError("max_cost", "an amount in USD, e.g. 0.50") from None


def _selection(form_values: dict[str, Any]) -> JobSelection:
    """The same `JobSelection` the API's POST /jobs takes, from the form."""
    scope = form_values["scope"]
    which = form_values["which"] or None
    common: dict[str, Any] = {
        "regions": form_values["regions"],
        "provider": form_values["provider"] or None,
        "recertify": which,
        "older_than_days": _older_than_days(form_values["older_than_days"]),
        "deep": form_values["deep"],
        "probe_unlisted": form_values["probe_unlisted"],
        "max_cost": _max_cost(form_values["max_cost"]),
        "allow_unpriced": form_values["allow_unpriced"],
    }
    if which != "older_than" and common["older_than_days"] is not None:
        raise InvalidInputError("older_than_days", "only with “older than N days”")
    if scope == "model":
        models = [m.strip() for m in form_values["models"].split(",") if m.strip()]
        if not models:
            raise InvalidInputError("models", "name at least one model")
        return JobSelection(models=models, **common)
    if scope == "vendor":
        return JobSelection(vendor=form_values["vendor"] or None, **common)
    if scope == "region":
        return JobSelection(**common)
    return JobSelection(all=True, **common)


@router.post("/jobs")
async def start_job(
    request: Request,
    form: CheckedForm,
    viewer: AdminViewer,
    session: SessionDep,
    settings: SettingsDep,
    state: StateDep,
    cache: CacheDep,
) -> Response:
    assert viewer.user is not None
    scope = field(form, "scope")
    which = field(form, "which")
    values: dict[str, Any] = {
        "scope": scope if scope in SCOPES else "model",
        "models": field(form, "models"),
        "vendor": field(form, "vendor"),
        "provider": field(form, "provider"),
        "which": which,
        "older_than_days": field(form, "older_than_days"),
        "deep": checkbox(form, "deep"),
        "probe_unlisted": checkbox(form, "probe_unlisted"),
        "max_cost": field(form, "max_cost"),
        "allow_unpriced": checkbox(form, "allow_unpriced"),
        "regions": [r for r in form.getlist("regions") if isinstance(r, str) and r],
    }
    errors: dict[str, str] = {}
    if which not in WHICH:
        errors["which"] = "Choose which certifications to run."
    elif which == "older_than" and not values["older_than_days"]:
        errors["older_than_days"] = "Say how many days, e.g. 30."
    elif values["scope"] == "vendor" and not values["vendor"]:
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
    if "recertify" in errors:
        errors["which"] = errors.pop("recertify")
    return await _jobs_page(
        request, viewer, session, settings, cache, status_code=422, errors=errors, values=values
    )


def _hours(form_value: str, name: str, default: float) -> float:
    if not form_value:
        return default
    try:
        hours = float(form_value)
    except ValueError:
        raise InvalidInputError(name, "a number of hours, e.g. 24") from None
    if not 0 < hours <= MAX_CLEAN_HOURS:  # also refuses nan and inf
        raise InvalidInputError(name, f"more than 0 and at most {MAX_CLEAN_HOURS:g} hours")
    return hours


@router.post("/jobs/clean")
async def clean_jobs(
    request: Request,
    form: CheckedForm,
    viewer: AdminViewer,
    session: SessionDep,
    settings: SettingsDep,
    cache: CacheDep,
) -> Response:
    """`myia jobs clean` from the page: the first post counts (a dry run) and asks to
    confirm; the post of the confirmation (`confirm=yes`) deletes."""
    raw = {name: field(form, name) for name in ("completed_after_h", "failed_after_h")}
    try:
        completed_h = _hours(
            raw["completed_after_h"], "completed_after_h", settings.queue_clean_completed_after_h
        )
        failed_h = _hours(
            raw["failed_after_h"], "failed_after_h", settings.queue_clean_failed_after_h
        )
    except InvalidInputError as exc:
        return await _jobs_page(
            request, viewer, session, settings, cache, status_code=422,
            clean=raw, clean_errors=service_errors(exc),
        )  # fmt: skip
    hours = {"completed_after_h": completed_h, "failed_after_h": failed_h}
    really = field(form, "confirm") == "yes"
    found = await jobs.clean_jobs(session=session, dry_run=not really, **hours)
    if really:
        return await _jobs_page(
            request, viewer, session, settings, cache, clean=hours,
            notice=f"{found} finished job(s) deleted; certifications stay.",
        )  # fmt: skip
    return await _jobs_page(
        request, viewer, session, settings, cache, clean=hours,
        clean_preview={"found": found, **hours},
    )  # fmt: skip


@router.post("/jobs/sync")
async def sync_queue(
    request: Request,
    _form: CheckedForm,
    viewer: AdminViewer,
    session: SessionDep,
    settings: SettingsDep,
    state: StateDep,
    cache: CacheDep,
) -> Response:
    """`myia jobs sync` from the page: the database is the record of truth."""
    counts = await service.sync_queue(session=session, engine=state.queue)
    notice = (
        f"Queue synchronised with the database: {counts.get('requeued', 0)} re-enqueued, "
        f"{counts.get('dropped', 0)} dropped, {counts.get('recovered', 0)} recovered from dead "
        f"workers, {counts.get('recounted', 0)} job(s) recounted."
    )
    return await _jobs_page(request, viewer, session, settings, cache, notice=notice)


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
