"""MetricsService: figures over `api_call_logs` and `system_metrics` for a time window.

Everything is computed by the database: counts, sums and the percentiles' ranks come back as
a handful of rows per group, so a request's Python work and memory do not grow with the
number of calls in its window. Percentiles are nearest-rank (the value of rank
ceil(q × n / 100) in ascending order), picked out with `row_number()` window functions so
SQLite and PostgreSQL give the same, exact answer. Only the percentiles need a sort: they
are computed over the window's newest `percentile_rows` calls (every call when the window
has no more), and the report says which (`percentile_calls`, `percentiles_sampled`).

A call whose cost is unknown (an unpriced deployment) adds nothing to `cost` and is counted
in `unpriced_calls`, so a total is never silently too low.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.models import (
    ApiCallLog,
    CertificationJobItem,
    ModelCertification,
    ModelDeployment,
    SystemMetric,
)
from myia.db.types import utcnow
from myia.errors import InvalidInputError
from myia.metrics.schemas import (
    CallMetrics,
    GroupBy,
    MetricsReport,
    Percentiles,
    SystemMetricSummary,
)

DEFAULT_WINDOW = timedelta(hours=24)
MAX_WINDOW = timedelta(days=366)
# Calls the percentiles are computed from, at most (the newest of the window).
PERCENTILE_ROWS = 100_000
QUANTILES = (50, 95, 99)
_GROUP_COLUMNS = {
    "deployment": ApiCallLog.deployment_id,
    "provider": ApiCallLog.provider,
    "user": ApiCallLog.user_id,
    "operation": ApiCallLog.operation,
    "region": ApiCallLog.region,
    "model": ApiCallLog.model,
}


def rank(q: int, n: int) -> int:
    """Nearest rank (1-based) of the q-th percentile (q in 1..100) of n values, n > 0."""
    return (q * n + 99) // 100


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of unsorted values; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[position - 1])


def window(
    *,
    since: datetime | None,
    until: datetime | None,
    last: timedelta | None = None,
    max_hours: float | None = None,
) -> tuple[datetime, datetime]:
    """The window [start, end); longer than `max_hours` is a 422 naming `hours` (or `since`
    when the start was given), never a silently shortened answer."""
    end = until or utcnow()
    try:
        start = since or end - (last or DEFAULT_WINDOW)
    except OverflowError as exc:  # `until` at the start of the calendar
        raise InvalidInputError("until", "too early for a window of that length") from exc
    if start >= end:
        raise InvalidInputError("since", "must be before until")
    if end - start > MAX_WINDOW:
        raise InvalidInputError("since", f"the window may span at most {MAX_WINDOW.days} days")
    if max_hours is not None and end - start > timedelta(hours=max_hours):
        raise InvalidInputError(
            "hours" if since is None else "since",
            f"the window may span at most {max_hours:g} hours for this account",
        )
    return start, end


def _filters(
    since: datetime,
    until: datetime,
    deployment_id: str | None,
    provider: str | None,
    user_id: str | None,
    operation: str | None,
) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = [
        ApiCallLog.created_at >= since,
        ApiCallLog.created_at < until,
    ]
    for column, value in (
        (ApiCallLog.deployment_id, deployment_id),
        (ApiCallLog.provider, provider),
        (ApiCallLog.user_id, user_id),
        (ApiCallLog.operation, operation),
    ):
        if value is not None:
            filters.append(column == value)
    return filters


def _at_rank(position: Any, count: Any) -> ColumnElement[bool]:
    """`position` is the nearest rank of one of QUANTILES among `count` values: the smallest
    k with k × 100 ≥ q × n, written without division so both databases agree exactly."""
    return or_(
        *(and_(position * 100 >= count * q, (position - 1) * 100 < count * q) for q in QUANTILES)
    )


async def _percentiles(
    session: AsyncSession,
    filters: list[ColumnElement[bool]],
    group_column: Any | None,
    limit: int,
) -> tuple[dict[tuple[str, str | None], Percentiles], dict[str, Percentiles]]:
    """Latency and time-to-first-token percentiles per group and in total, in one statement
    returning at most 3 rows per (metric, group) and 3 per metric in total."""
    grouped = group_column is not None
    sample = (
        select(
            *([group_column.label("g")] if group_column is not None else []),
            ApiCallLog.latency_ms.label("latency"),
            ApiCallLog.time_to_first_token_ms.label("ttft"),
        )
        .where(*filters)
        .order_by(ApiCallLog.created_at.desc())
        .limit(limit)
        .cte("sample")
    )
    ranked = []
    for name in ("latency", "ttft"):
        value = sample.c[name]
        per_group = (
            [
                sample.c.g,
                func.row_number().over(partition_by=sample.c.g, order_by=value).label("rn_g"),
                func.count().over(partition_by=sample.c.g).label("n_g"),
            ]
            if grouped
            else []
        )
        inner = (
            select(
                literal_column(f"'{name}'").label("metric"),  # a constant, never input
                value.label("v"),
                func.row_number().over(order_by=value).label("rn_all"),
                func.count().over().label("n_all"),
                *per_group,
            )
            .where(value.is_not(None))
            .subquery()
        )
        wanted = _at_rank(inner.c.rn_all, inner.c.n_all)
        if grouped:
            wanted = or_(wanted, _at_rank(inner.c.rn_g, inner.c.n_g))
        ranked.append(select(inner).where(wanted))
    totals: dict[str, dict[str, float]] = {"latency": {}, "ttft": {}}
    groups: dict[tuple[str, str | None], dict[str, float]] = {}
    for row in await session.execute(union_all(*ranked)):
        for q in QUANTILES:
            if row.rn_all == rank(q, row.n_all):
                totals[row.metric][f"p{q}"] = float(row.v)
            if grouped and row.rn_g == rank(q, row.n_g):
                groups.setdefault((row.metric, row.g), {})[f"p{q}"] = float(row.v)
    return (
        {key: Percentiles(**found) for key, found in groups.items()},
        {metric: Percentiles(**found) for metric, found in totals.items()},
    )


async def call_metrics(
    *,
    session: AsyncSession,
    since: datetime,
    until: datetime,
    group_by: GroupBy | None = None,
    deployment_id: str | None = None,
    provider: str | None = None,
    user_id: str | None = None,
    operation: str | None = None,
    percentile_rows: int = PERCENTILE_ROWS,
) -> tuple[CallMetrics, list[CallMetrics], int]:
    """The window's totals, with `group_by` one entry per group (most calls first), and how
    many calls (the newest) the percentiles were computed from. Two statements whatever the
    number of calls."""
    filters = _filters(since, until, deployment_id, provider, user_id, operation)
    group_column = _GROUP_COLUMNS[group_by] if group_by else None
    sums = (
        func.count().label("calls"),
        func.coalesce(func.sum(case((ApiCallLog.status != "success", 1), else_=0)), 0).label(
            "errors"
        ),
        func.coalesce(
            func.sum(
                case((and_(ApiCallLog.status == "success", ApiCallLog.cost.is_(None)), 1), else_=0)
            ),
            0,
        ).label("unpriced"),
        func.coalesce(func.sum(ApiCallLog.tokens_in), 0).label("tokens_in"),
        func.coalesce(func.sum(ApiCallLog.tokens_out), 0).label("tokens_out"),
        func.coalesce(func.sum(ApiCallLog.cost), 0.0).label("cost"),
    )
    if group_column is not None:
        query = select(group_column.label("g"), *sums).where(*filters).group_by(group_column)
    else:
        query = select(null().label("g"), *sums).where(*filters)
    aggregates = [row for row in await session.execute(query) if row.calls]
    calls = sum(int(row.calls) for row in aggregates)
    by_group, total_percentiles = (
        await _percentiles(session, filters, group_column, percentile_rows) if calls else ({}, {})
    )

    def metrics(
        key: str | None, rows: list[Any], lat: Percentiles | None, ttft: Percentiles | None
    ) -> CallMetrics:
        n = sum(int(r.calls) for r in rows)
        errors = sum(int(r.errors) for r in rows)
        return CallMetrics(
            key=key,
            calls=n,
            errors=errors,
            error_rate=errors / n if n else 0.0,
            latency_ms=lat or Percentiles(),
            time_to_first_token_ms=ttft or Percentiles(),
            tokens_in=sum(int(r.tokens_in) for r in rows),
            tokens_out=sum(int(r.tokens_out) for r in rows),
            cost=sum(float(r.cost) for r in rows),
            unpriced_calls=sum(int(r.unpriced) for r in rows),
        )

    total = metrics(
        None, aggregates, total_percentiles.get("latency"), total_percentiles.get("ttft")
    )
    listed = (
        sorted(
            (
                metrics(
                    row.g,
                    [row],
                    by_group.get(("latency", row.g)),
                    by_group.get(("ttft", row.g)),
                )
                for row in aggregates
            ),
            key=lambda m: (-m.calls, m.key or ""),
        )
        if group_column is not None
        else []
    )
    return total, listed, min(calls, percentile_rows)


async def system_metrics(
    *,
    session: AsyncSession,
    since: datetime,
    until: datetime,
    deployment_id: str | None = None,
) -> list[SystemMetricSummary]:
    """`system_metrics` samples of the window, summarised per (type, deployment): one row
    per pair comes back from the database, never the samples."""
    per_pair = (SystemMetric.metric_type, SystemMetric.deployment_id)
    inner = select(
        SystemMetric.metric_type,
        SystemMetric.deployment_id,
        SystemMetric.value,
        SystemMetric.timestamp,
        func.count().over(partition_by=per_pair).label("samples"),
        func.avg(SystemMetric.value).over(partition_by=per_pair).label("average"),
        func.row_number()
        .over(
            partition_by=per_pair,
            order_by=(SystemMetric.timestamp.desc(), SystemMetric.id.desc()),
        )
        .label("newest"),
    ).where(SystemMetric.timestamp >= since, SystemMetric.timestamp < until)
    if deployment_id is not None:
        inner = inner.where(SystemMetric.deployment_id == deployment_id)
    ranked = inner.subquery()
    rows = await session.execute(select(ranked).where(ranked.c.newest == 1))
    return sorted(
        (
            SystemMetricSummary(
                metric_type=row.metric_type,
                deployment_id=row.deployment_id,
                samples=int(row.samples),
                average=float(row.average),
                last=float(row.value),
                last_at=row.timestamp,
            )
            for row in rows
        ),
        key=lambda s: (s.metric_type, s.deployment_id or ""),
    )


async def record_metric(
    *,
    session: AsyncSession,
    metric_type: str,
    value: float,
    deployment_id: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> SystemMetric:
    """Store one sample (seed 001's types: latency, error_rate, usage, certification)."""
    if not math.isfinite(value):
        raise InvalidInputError("value", "must be a finite number")
    sample = SystemMetric(
        deployment_id=deployment_id, metric_type=metric_type[:50], value=value, metadata_=metadata
    )
    session.add(sample)
    await session.commit()
    return sample


async def report(
    *,
    session: AsyncSession,
    since: datetime,
    until: datetime,
    group_by: GroupBy | None = None,
    deployment_id: str | None = None,
    provider: str | None = None,
    user_id: str | None = None,
    operation: str | None = None,
    percentile_rows: int = PERCENTILE_ROWS,
) -> MetricsReport:
    total, groups, percentile_calls = await call_metrics(
        session=session,
        since=since,
        until=until,
        group_by=group_by,
        deployment_id=deployment_id,
        provider=provider,
        user_id=user_id,
        operation=operation,
        percentile_rows=percentile_rows,
    )
    # A user's own report has no system-wide samples to show.
    system = (
        []
        if user_id is not None
        else await system_metrics(
            session=session, since=since, until=until, deployment_id=deployment_id
        )
    )
    return MetricsReport(
        since=since,
        until=until,
        group_by=group_by,
        total=total,
        groups=groups,
        system=system,
        percentile_calls=percentile_calls,
        percentiles_sampled=percentile_calls < total.calls,
    )


async def certification_counts(*, session: AsyncSession) -> dict[str, int]:
    """Certification rows by status, for the Prometheus gauge."""
    rows = await session.execute(
        select(ModelCertification.status, func.count()).group_by(ModelCertification.status)
    )
    return {_label(status): int(count) for status, count in rows.all()}


def _label(status: object) -> str:
    value = getattr(status, "value", status)
    return str(value)


async def queue_counts(*, session: AsyncSession) -> dict[str, int]:
    """Certification work items by status, for the Prometheus gauge."""
    rows = await session.execute(
        select(CertificationJobItem.status, func.count()).group_by(CertificationJobItem.status)
    )
    return {_label(status): int(count) for status, count in rows.all()}


async def deployment_exists(*, session: AsyncSession, deployment_id: str) -> bool:
    return await session.get(ModelDeployment, deployment_id) is not None
