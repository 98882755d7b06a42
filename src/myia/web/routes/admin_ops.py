"""`/admin/stats`, `/admin/queue`, `/admin/health` and `/admin/discovery`."""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from myia.api.deps import CacheDep, SessionDep, SettingsDep, StateDep
from myia.catalog.discovery import discover_models
from myia.catalog.filters import MAX_PAGE_SIZE, ProviderFilters
from myia.catalog.providers import list_providers
from myia.errors import MyIAError
from myia.metrics.rollup import latest_rollup
from myia.observability.health import health_report
from myia.providers.errors import ProviderError
from myia.queue.heartbeat import stale_after_s, workers
from myia.queue.stats import queue_stats
from myia.web.charts import bar_chart
from myia.web.deps import AdminViewer, CheckedForm, field
from myia.web.forms import service_errors
from myia.web.stats_view import certification_stats
from myia.web.templating import render

router = APIRouter(prefix="/admin")


@router.get("/stats")
async def stats_page(
    request: Request, viewer: AdminViewer, session: SessionDep, settings: SettingsDep
) -> Response:
    stats = await certification_stats(session=session)
    charts = {
        "Certifications per badge": bar_chart(
            "Certifications per badge", stats.by_badge, fmt=lambda v: f"{v:.0f}"
        ),
        "Tests passed per vendor (%)": bar_chart(
            "Tests passed per vendor",
            stats.pass_rate_vendor,
            max_value=100,
            fmt=lambda v: f"{v:.0f} %",
        ),
        "Tests passed per region (%)": bar_chart(
            "Tests passed per region",
            stats.pass_rate_region,
            max_value=100,
            fmt=lambda v: f"{v:.0f} %",
        ),
        "Average latency per vendor (ms)": bar_chart(
            "Average latency per vendor", stats.latency_vendor, fmt=lambda v: f"{v:,.0f} ms"
        ),
    }
    return render(request, settings, "admin/stats.html", viewer, stats=stats, charts=charts)


@router.get("/queue")
async def queue_page(
    request: Request,
    viewer: AdminViewer,
    session: SessionDep,
    settings: SettingsDep,
    state: StateDep,
) -> Response:
    figures = await queue_stats(session, concurrency=settings.queue_concurrency)
    found = await workers(session, stale_after_s=stale_after_s(settings))
    engine = await state.queue.health()
    return render(
        request,
        settings,
        "admin/queue.html",
        viewer,
        q=figures,
        workers=found,
        engine=engine,
        saq_ui=bool(settings.queue_url),
    )


@router.get("/health")
async def health_page(
    request: Request, viewer: AdminViewer, settings: SettingsDep, state: StateDep
) -> Response:
    async def workers_check() -> dict[str, Any]:
        async with state.database.session() as session:
            found = await workers(session, stale_after_s=stale_after_s(settings))
        return {"status": "up", "alive": sum(w["alive"] for w in found), "workers": found}

    report = await health_report(
        state.database, {"queue": state.queue.health, "workers": workers_check}
    )
    rollup = None
    with contextlib.suppress(Exception):  # a database that is down is the report's to show
        async with state.database.read_session() as session:
            rollup = await latest_rollup(session=session)
    return render(request, settings, "admin/health.html", viewer, report=report, rollup=rollup)


async def _providers(session: SessionDep, cache: CacheDep) -> list[Any]:
    found = await list_providers(
        session=session, cache=cache, filters=ProviderFilters(active=True, page_size=MAX_PAGE_SIZE)
    )
    return list(found.items)


@router.get("/discovery")
async def discovery_page(
    request: Request,
    viewer: AdminViewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
) -> Response:
    return render(
        request,
        settings,
        "admin/discovery.html",
        viewer,
        providers=await _providers(session, cache),
        regions=settings.default_regions,
        values={"provider": "", "region": "", "vendor": ""},
        report=None,
        errors={},
    )


@router.post("/discovery")
async def run_discovery(
    request: Request,
    form: CheckedForm,
    viewer: AdminViewer,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
) -> Response:
    """`mode=dry-run` lists what would be added; `mode=apply` writes it."""
    assert viewer.user is not None
    values = {name: field(form, name) for name in ("provider", "region", "vendor")}
    dry_run = field(form, "mode") != "apply"
    errors: dict[str, str] = {}
    report = None
    if not values["provider"]:
        errors["provider"] = "Choose a provider."
    else:
        try:
            report = await discover_models(
                session=session,
                cache=cache,
                provider_slug=values["provider"],
                region=values["region"] or None,
                vendor=values["vendor"] or None,
                dry_run=dry_run,
                user_id=viewer.user.id,
                secret=settings.encryption_secret,
            )
        except MyIAError as exc:
            errors = service_errors(exc)
        except ProviderError as exc:
            errors = {"form": f"The provider refused: {exc}"}
    return render(
        request,
        settings,
        "admin/discovery.html",
        viewer,
        status_code=422 if errors else 200,
        providers=await _providers(session, cache),
        regions=settings.default_regions,
        values=values,
        report=report,
        errors=errors,
    )
