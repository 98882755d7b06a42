"""Metrics of provider calls (`/api/v2/metrics`) and the Prometheus endpoint (`/metrics`).

An admin sees every call; any other user sees the figures of their own calls only. A
deployment's figures (`/api/v2/metrics/{id}`) are open to every signed-in user: latency and
error rate are how one chooses a model. A non-admin's window spans at most
METRICS_MAX_HOURS_USER hours (an admin's METRICS_MAX_HOURS_ADMIN): longer is a 422 naming
`hours`, and the database does the counting (docs/metrics.md). `/metrics` is Prometheus' text
format, unauthenticated like most scrape targets: its labels are operations, providers and
statuses, never a user.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BeforeValidator

from myia.api.deps import CurrentUser, SessionDep, SettingsDep
from myia.auth.principal import Principal
from myia.catalog import openapi
from myia.config import Settings
from myia.db.enums import UserRole
from myia.errors import NotFoundError, PermissionDeniedError
from myia.metrics import service
from myia.metrics.schemas import GroupBy, MetricsReport
from myia.telemetry import prom

router = APIRouter(prefix="/api/v2/metrics", tags=["metrics"])
prometheus_router = APIRouter(tags=["metrics"])

_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _date_time_only(value: object) -> object:
    # Pydantic would also take a number (seconds since 1970) or a bare date; the document
    # promises an ISO 8601 date-time, so anything else is a 422.
    if isinstance(value, str) and not _DATE_TIME.match(value):
        raise ValueError("an ISO 8601 date-time, e.g. 2026-11-29T15:00:00Z")
    return value


Since = Annotated[
    datetime | None,
    BeforeValidator(_date_time_only),
    Query(description="Window start, ISO 8601 (default: until - hours)"),
]
Until = Annotated[
    datetime | None,
    BeforeValidator(_date_time_only),
    Query(description="Window end, ISO 8601 (default: now)"),
]
Hours = Annotated[
    float,
    Query(
        gt=0,
        le=24 * 366,
        description="Window length when no since; at most METRICS_MAX_HOURS_USER "
        "(default 168) for a non-admin, METRICS_MAX_HOURS_ADMIN (default 8784) for an admin",
    ),
]
# No NUL: PostgreSQL refuses it in a text comparison (a 500, not a 422).
Key = Annotated[str | None, Query(max_length=300, pattern=r"^[^\x00]*$")]


def _window(
    user: Principal,
    settings: Settings,
    since: datetime | None,
    until: datetime | None,
    hours: float,
) -> tuple[datetime, datetime]:
    admin = user.role == UserRole.ADMIN
    return service.window(
        since=since,
        until=until,
        last=timedelta(hours=hours),
        max_hours=settings.metrics_max_hours_admin if admin else settings.metrics_max_hours_user,
    )


_READ = {**openapi.READ, 403: openapi.CREATE[403]}


@router.get(
    "",
    summary="Latency, errors, tokens and cost of provider calls in a window",
    responses=_READ,
)
async def get_metrics(
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    since: Since = None,
    until: Until = None,
    hours: Hours = 24,
    group_by: GroupBy | None = None,
    provider: Key = None,
    operation: Key = None,
    deployment_id: Key = None,
    user_id: Key = None,
) -> MetricsReport:
    admin = user.role == UserRole.ADMIN
    if not admin and (group_by == "user" or (user_id is not None and user_id != user.id)):
        raise PermissionDeniedError("other users' figures need the admin role")
    start, end = _window(user, settings, since, until, hours)
    return await service.report(
        session=session,
        since=start,
        until=end,
        group_by=group_by,
        deployment_id=deployment_id,
        provider=provider,
        operation=operation,
        user_id=user_id if admin else user.id,
        percentile_rows=settings.metrics_percentile_rows,
    )


@router.get(
    "/{deployment_id}",
    summary="One deployment's figures, per region by default",
    responses={**_READ, **openapi.READ_ONE},
)
async def get_deployment_metrics(
    deployment_id: Annotated[
        str, Path(max_length=36, pattern=r"^[^\x00]*$", description="model_deployments.id")
    ],
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    since: Since = None,
    until: Until = None,
    hours: Hours = 24,
    group_by: GroupBy | None = "region",
    operation: Key = None,
) -> MetricsReport:
    if group_by == "user":
        raise PermissionDeniedError("figures per user are in /api/v2/metrics, for admins")
    start, end = _window(user, settings, since, until, hours)
    if not await service.deployment_exists(session=session, deployment_id=deployment_id):
        raise NotFoundError("deployment", deployment_id)
    return await service.report(
        session=session,
        since=start,
        until=end,
        group_by=group_by,
        deployment_id=deployment_id,
        operation=operation,
        percentile_rows=settings.metrics_percentile_rows,
    )


@prometheus_router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
async def prometheus_metrics(session: SessionDep) -> Response:
    # Certifications and work items are read at scrape time: other processes change them.
    prom.set_certifications(await service.certification_counts(session=session))
    prom.set_certification_queue(await service.queue_counts(session=session))
    await session.close()
    return Response(generate_latest(prom.registry()), media_type=CONTENT_TYPE_LATEST)
