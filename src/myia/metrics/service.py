"""MetricsService: figures over `api_call_logs` and `system_metrics` for a time window.

Percentiles are nearest-rank over the window's values, computed in Python so SQLite and
PostgreSQL give the same answer; the SQL only filters and projects. A call whose cost is
unknown (an unpriced deployment) adds nothing to `cost` and is counted in `unpriced_calls`,
so a total is never silently too low.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
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
_GROUP_COLUMNS = {
    "deployment": ApiCallLog.deployment_id,
    "provider": ApiCallLog.provider,
    "user": ApiCallLog.user_id,
    "operation": ApiCallLog.operation,
    "region": ApiCallLog.region,
    "model": ApiCallLog.model,
}


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of unsorted values; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])


def _percentiles(values: list[float]) -> Percentiles:
    return Percentiles(
        p50=percentile(values, 50), p95=percentile(values, 95), p99=percentile(values, 99)
    )


@dataclass
class _Acc:
    calls: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    ttfts: list[float] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    unpriced: int = 0

    def add(self, row: Any) -> None:
        self.calls += 1
        if row.status != "success":
            self.errors += 1
        elif row.cost is None:
            self.unpriced += 1
        if row.latency_ms is not None:
            self.latencies.append(row.latency_ms)
        if row.time_to_first_token_ms is not None:
            self.ttfts.append(row.time_to_first_token_ms)
        self.tokens_in += row.tokens_in or 0
        self.tokens_out += row.tokens_out or 0
        self.cost += row.cost or 0.0

    def metrics(self, key: str | None) -> CallMetrics:
        return CallMetrics(
            key=key,
            calls=self.calls,
            errors=self.errors,
            error_rate=self.errors / self.calls if self.calls else 0.0,
            latency_ms=_percentiles(self.latencies),
            time_to_first_token_ms=_percentiles(self.ttfts),
            tokens_in=self.tokens_in,
            tokens_out=self.tokens_out,
            cost=self.cost,
            unpriced_calls=self.unpriced,
        )


def window(
    *, since: datetime | None, until: datetime | None, last: timedelta | None = None
) -> tuple[datetime, datetime]:
    end = until or utcnow()
    try:
        start = since or end - (last or DEFAULT_WINDOW)
    except OverflowError as exc:  # `until` at the start of the calendar
        raise InvalidInputError("until", "too early for a window of that length") from exc
    if start >= end:
        raise InvalidInputError("since", "must be before until")
    if end - start > MAX_WINDOW:
        raise InvalidInputError("since", f"the window may span at most {MAX_WINDOW.days} days")
    return start, end


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
) -> tuple[CallMetrics, list[CallMetrics]]:
    """The window's totals and, with `group_by`, one entry per group (most calls first)."""
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
    group_column = _GROUP_COLUMNS[group_by] if group_by else ApiCallLog.operation
    rows = await session.execute(
        select(
            group_column.label("group_key"),
            ApiCallLog.status,
            ApiCallLog.latency_ms,
            ApiCallLog.time_to_first_token_ms,
            ApiCallLog.tokens_in,
            ApiCallLog.tokens_out,
            ApiCallLog.cost,
        ).where(*filters)
    )
    total = _Acc()
    groups: dict[str | None, _Acc] = defaultdict(_Acc)
    for row in rows:
        total.add(row)
        if group_by:
            groups[row.group_key].add(row)
    listed = sorted(
        (acc.metrics(key) for key, acc in groups.items()),
        key=lambda m: (-m.calls, m.key or ""),
    )
    return total.metrics(None), listed


async def system_metrics(
    *,
    session: AsyncSession,
    since: datetime,
    until: datetime,
    deployment_id: str | None = None,
) -> list[SystemMetricSummary]:
    """`system_metrics` samples of the window, summarised per (type, deployment)."""
    query = (
        select(SystemMetric)
        .where(SystemMetric.timestamp >= since, SystemMetric.timestamp < until)
        .order_by(SystemMetric.timestamp)
    )
    if deployment_id is not None:
        query = query.where(SystemMetric.deployment_id == deployment_id)
    grouped: dict[tuple[str, str | None], list[SystemMetric]] = defaultdict(list)
    for sample in await session.scalars(query):
        grouped[(sample.metric_type, sample.deployment_id)].append(sample)
    return [
        SystemMetricSummary(
            metric_type=metric_type,
            deployment_id=deployment,
            samples=len(samples),
            average=sum(s.value for s in samples) / len(samples),
            last=samples[-1].value,
            last_at=samples[-1].timestamp,
        )
        for (metric_type, deployment), samples in sorted(
            grouped.items(), key=lambda item: (item[0][0], item[0][1] or "")
        )
    ]


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
) -> MetricsReport:
    total, groups = await call_metrics(
        session=session,
        since=since,
        until=until,
        group_by=group_by,
        deployment_id=deployment_id,
        provider=provider,
        user_id=user_id,
        operation=operation,
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
        since=since, until=until, group_by=group_by, total=total, groups=groups, system=system
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
