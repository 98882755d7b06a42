"""Periodic rollups into `system_metrics`: what the provider calls of the last window cost
in calls, latency and errors, per deployment, and the queue's depth — kept per
`RETENTION_METRICS_DAYS` and pruned by `myia db prune` like every operational table.

The figures come from the database (`api_call_logs`, `certification_job_items`), not from one
process's Prometheus counters, so calls made by every server and worker count once. Windows
are aligned on the interval (…:00, …:01 for a minute): a window already written (by another
server process sharing the database) is not written again, and a window missed while no
server ran stays missing rather than being back-filled with zeros.

Rows (seed 001's types), each with `metadata.window_s` and the window's end as `timestamp`:
- `usage` (a deployment's calls in the window; metadata: errors, tokens_in, tokens_out, cost),
  `latency` (their mean latency, ms) and `error_rate` (errors / calls), for each deployment
  that had calls — at most `MAX_DEPLOYMENTS` of them, the busiest;
- `requests` (every provider call of the window, deployment null) and `certification_queue`
  (work items QUEUED at the window's end, deployment null): one each, calls or not, so an
  idle minute is a 0, not a gap.

Read back by `GET /api/v2/metrics` (its `system` part) and `latest_rollup` (admin health page).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import case, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.engine import Database
from myia.db.enums import JobItemStatus
from myia.db.models import ApiCallLog, CertificationJobItem, SystemMetric
from myia.db.types import new_id, utcnow

logger = logging.getLogger(__name__)

MAX_DEPLOYMENTS = 500
GLOBAL_TYPES = ("requests", "certification_queue")


class RollupSettings(BaseSettings):
    """How often `myia serve` writes a rollup (seconds; 0 turns it off)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    interval_s: int = Field(
        default=60, ge=0, le=86_400, validation_alias="METRICS_ROLLUP_INTERVAL_S"
    )


def window_end(now: datetime, interval_s: int) -> datetime:
    """The end of the last whole window before `now` (windows aligned on the epoch)."""
    seconds = int(now.timestamp()) // interval_s * interval_s
    return datetime.fromtimestamp(seconds, tz=UTC)


@dataclass(frozen=True)
class RollupResult:
    end: datetime
    rows: int
    skipped: bool  # the window was already written


async def write_rollup(
    *, session: AsyncSession, interval_s: int, now: datetime | None = None
) -> RollupResult:
    """Write the rollup of the last whole window ending at or before `now`."""
    if interval_s <= 0:
        raise ValueError("interval_s must be positive")
    end = window_end(now or utcnow(), interval_s)
    start = end - timedelta(seconds=interval_s)
    done = await session.scalar(
        select(func.count())
        .select_from(SystemMetric)
        .where(SystemMetric.metric_type == "requests", SystemMetric.timestamp == end)
    )
    if done:
        return RollupResult(end, 0, True)
    errors = func.sum(case((ApiCallLog.status != "success", 1), else_=0))
    calls = func.count()
    per_deployment = (
        await session.execute(
            select(
                ApiCallLog.deployment_id,
                calls,
                errors,
                func.avg(ApiCallLog.latency_ms),
                func.sum(ApiCallLog.tokens_in),
                func.sum(ApiCallLog.tokens_out),
                func.sum(ApiCallLog.cost),
            )
            .where(ApiCallLog.created_at >= start, ApiCallLog.created_at < end)
            .group_by(ApiCallLog.deployment_id)
            .order_by(calls.desc())
        )
    ).all()
    total = sum(int(row[1]) for row in per_deployment)
    queued = await session.scalar(
        select(func.count())
        .select_from(CertificationJobItem)
        .where(CertificationJobItem.status == JobItemStatus.QUEUED)
    )
    window = {"window_s": interval_s}
    rows: list[dict[str, Any]] = [
        _row("requests", float(total), end, None, window),
        _row("certification_queue", float(queued or 0), end, None, window),
    ]
    for deployment_id, n, failed, latency, tokens_in, tokens_out, cost in per_deployment:
        if deployment_id is None or len(rows) >= 2 + 3 * MAX_DEPLOYMENTS:
            continue  # a deleted deployment's calls count in `requests` only
        n, failed = int(n), int(failed or 0)
        usage = {**window, "errors": failed, "tokens_in": int(tokens_in or 0),
                 "tokens_out": int(tokens_out or 0), "cost": cost}  # fmt: skip
        rows.append(_row("usage", float(n), end, deployment_id, usage))
        rows.append(_row("error_rate", failed / n, end, deployment_id, window))
        if latency is not None:
            rows.append(_row("latency", float(latency), end, deployment_id, window))
    await session.execute(insert(SystemMetric), rows)
    await session.commit()
    return RollupResult(end, len(rows), False)


def _row(
    kind: str, value: float, at: datetime, deployment_id: str | None, metadata: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "metric_type": kind,
        "value": value,
        "timestamp": at,
        "deployment_id": deployment_id,
        "metadata_": metadata,
    }


async def latest_rollup(*, session: AsyncSession) -> dict[str, Any] | None:
    """The newest window's global figures ({"at", "requests", "certification_queue",
    "deployments"}), or None when nothing was ever written."""
    end = await session.scalar(
        select(func.max(SystemMetric.timestamp)).where(SystemMetric.metric_type == "requests")
    )
    if end is None:
        return None
    rows = (
        await session.execute(
            select(SystemMetric.metric_type, SystemMetric.value, SystemMetric.deployment_id).where(
                SystemMetric.timestamp == end
            )
        )
    ).all()
    found: dict[str, Any] = {"at": end, "deployments": 0}
    for kind, value, deployment_id in rows:
        if deployment_id is None and kind in GLOBAL_TYPES:
            found[kind] = int(value)
        elif kind == "usage":
            found["deployments"] += 1
    return found


async def run_rollups(database: Database, interval_s: int) -> None:
    """Forever: after each window closes (plus a moment for batched call logs to land),
    write its rollup. Cancelled by the app's lifespan."""
    settle_s = min(5.0, interval_s / 4)
    while True:
        now = utcnow()
        next_end = window_end(now, interval_s) + timedelta(seconds=interval_s)
        await asyncio.sleep((next_end - now).total_seconds() + settle_s)
        try:
            async with database.session() as session:
                await write_rollup(session=session, interval_s=interval_s)
        except Exception:  # the next window tries again; the server goes on
            logger.exception("metrics rollup failed")


def start_rollups(database: Database) -> asyncio.Task[None] | None:
    interval_s = RollupSettings().interval_s
    if interval_s <= 0:
        return None
    return asyncio.create_task(run_rollups(database, interval_s), name="myia-metrics-rollup")


async def stop_rollups(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
