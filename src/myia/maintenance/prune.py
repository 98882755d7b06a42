"""Retention: delete what is older than its table's limit (logs, API call logs, metrics,
finished certification jobs). Certifications, chats and messages are never pruned.

Run by `myia db prune` and once a day inside `myia serve` (PruneSchedule). The limits are
settings with defaults, read from the environment like every other setting.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from myia.certification.jobs import clean_jobs
from myia.db.engine import Database
from myia.db.models import ApiCallLog, LogRecord, SystemMetric
from myia.db.types import utcnow

logger = logging.getLogger(__name__)

DAY_S = 24 * 3600.0


class RetentionSettings(BaseSettings):
    """Days each kind of row is kept (0 keeps it forever)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    logs_days: int = Field(default=30, ge=0, validation_alias="RETENTION_LOGS_DAYS")
    api_call_logs_days: int = Field(
        default=90, ge=0, validation_alias="RETENTION_API_CALL_LOGS_DAYS"
    )
    system_metrics_days: int = Field(default=90, ge=0, validation_alias="RETENTION_METRICS_DAYS")
    jobs_days: int = Field(default=30, ge=0, validation_alias="RETENTION_JOBS_DAYS")
    # Seconds between two runs inside `myia serve` (a day; 0 turns the daily run off).
    interval_s: float = Field(default=DAY_S, ge=0, validation_alias="RETENTION_INTERVAL_S")


@dataclass(frozen=True)
class PruneReport:
    dry_run: bool
    # table -> (retention in days, rows deleted or, on a dry run, that would be)
    tables: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(rows for _, rows in self.tables.values())


async def _prune_table(
    session: AsyncSession,
    model: type,
    column: InstrumentedAttribute[datetime],
    cutoff: datetime,
    dry_run: bool,
) -> int:
    condition = column < cutoff
    if dry_run:
        return int(
            await session.scalar(select(func.count()).select_from(model).where(condition)) or 0
        )
    result = await session.execute(delete(model).where(condition))
    return int(getattr(result, "rowcount", 0) or 0)


async def prune(
    *,
    session: AsyncSession,
    retention: RetentionSettings,
    dry_run: bool = False,
    now: datetime | None = None,
) -> PruneReport:
    now = now or utcnow()
    tables: dict[str, tuple[int, int]] = {}
    plans: list[tuple[str, type, InstrumentedAttribute[datetime], int]] = [
        ("logs", LogRecord, LogRecord.timestamp, retention.logs_days),
        ("api_call_logs", ApiCallLog, ApiCallLog.created_at, retention.api_call_logs_days),
        ("system_metrics", SystemMetric, SystemMetric.timestamp, retention.system_metrics_days),
    ]
    for name, model, column, days in plans:
        if days == 0:
            continue
        cutoff = now - timedelta(days=days)
        tables[name] = (days, await _prune_table(session, model, column, cutoff, dry_run))
    if not dry_run:
        await session.commit()
    if retention.jobs_days:
        hours = retention.jobs_days * 24.0
        jobs = await clean_jobs(
            session=session, completed_after_h=hours, failed_after_h=hours, dry_run=dry_run
        )
        tables["certification_jobs"] = (retention.jobs_days, jobs)
    return PruneReport(dry_run=dry_run, tables=tables)


async def prune_database(
    *, database: Database, retention: RetentionSettings, dry_run: bool = False
) -> PruneReport:
    async with database.session() as session:
        return await prune(session=session, retention=retention, dry_run=dry_run)


class PruneSchedule:
    """The daily prune of `myia serve`: a daemon thread with its own loop and connections,
    so the API's event loop never waits on a large DELETE."""

    def __init__(self, database_url: str, retention: RetentionSettings) -> None:
        self._url = database_url
        self._retention = retention
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="myia-prune", daemon=True)
        self.runs = 0

    def start(self) -> PruneSchedule:
        if self._retention.interval_s > 0:
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        # The first run waits a full interval: a restart loop must not prune each time.
        while not self._stop.wait(self._retention.interval_s):
            try:
                report = asyncio.run(self._once())
                logger.info(
                    "daily prune: %d row(s) deleted",
                    report.total,
                    extra={"tables": {k: v[1] for k, v in report.tables.items()}},
                )
            except Exception:  # the next day tries again; the server goes on
                logger.exception("daily prune failed")
            self.runs += 1

    async def _once(self) -> PruneReport:
        database = Database(self._url)
        try:
            return await prune_database(database=database, retention=self._retention)
        finally:
            await database.dispose()
