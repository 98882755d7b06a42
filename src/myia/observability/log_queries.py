"""Read the `logs` table: the filters `myia logs` and the admin logs page share.

Newest first, paged by keyset (the last line's timestamp and id, never an offset: a page deep
in a busy table costs what the first one does); `--follow` reads forward from a cursor the
same way. Every bound a user controls is here: how many lines (`MAX_LIMIT`), how long a
filter value may be, which levels exist.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.models import LogRecord
from myia.db.types import utcnow
from myia.errors import InvalidInputError

LEVELS = ("debug", "info", "warning", "error", "critical")
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_FILTER_CHARS = 200
MAX_SINCE = timedelta(days=3650)
_DURATION = re.compile(r"^(\d{1,7})\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_CURSOR = re.compile(r"^(\d{4}-\d{2}-\d{2}T[0-9:.+\-]+)~([0-9a-f\-]{1,36})$")


@dataclass(frozen=True, slots=True)
class LogFilter:
    """What to show: `level` is a minimum (warning shows warning, error and critical)."""

    level: str | None = None
    since: datetime | None = None
    logger: str | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class LogLine:
    id: str
    timestamp: datetime
    level: str
    message: str
    logger: str | None
    request_id: str | None
    user_id: str | None
    metadata: dict[str, Any]
    error: dict[str, Any] | None

    @property
    def cursor(self) -> str:
        return f"{self.timestamp.isoformat()}~{self.id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "timestamp": self.timestamp.isoformat(),
            "level": self.level,
            "message": self.message,
            "logger": self.logger,
            "request_id": self.request_id,
            "user_id": self.user_id,
            "metadata": self.metadata,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class LogPage:
    lines: list[LogLine]
    # The cursor of the page after this one (older lines), None on the last page.
    next_cursor: str | None


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """`15m`, `2h`, `7d`, `1w` (that long ago) or an ISO 8601 time (UTC when it has no
    zone). InvalidInputError naming `since` otherwise."""
    value = text.strip()
    moment = now or utcnow()
    found = _DURATION.match(value.lower())
    if found:
        span = timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
        if span > MAX_SINCE:
            raise InvalidInputError("since", "goes back at most 3650 days")
        return moment - span
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(
            "since", f"must be a duration (30s, 15m, 2h, 7d, 1w) or an ISO 8601 time, not {text!r}"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def make_filter(
    *,
    level: str | None = None,
    since: str | None = None,
    logger: str | None = None,
    request_id: str | None = None,
) -> LogFilter:
    """A checked `LogFilter` from user input (empty strings mean no filter)."""
    wanted = (level or "").strip().lower() or None
    if wanted is not None and wanted not in LEVELS:
        raise InvalidInputError("level", f"must be one of {', '.join(LEVELS)}, not {level!r}")
    for name, value in (("logger", logger), ("request_id", request_id), ("since", since)):
        if value and (len(value) > MAX_FILTER_CHARS or "\x00" in value):
            raise InvalidInputError(name, f"is at most {MAX_FILTER_CHARS} characters of text")
    return LogFilter(
        level=wanted,
        since=parse_since(since) if since and since.strip() else None,
        logger=(logger or "").strip() or None,
        request_id=(request_id or "").strip() or None,
    )


def _parse_cursor(cursor: str) -> tuple[datetime, str]:
    found = _CURSOR.match(cursor)
    if found is None:
        raise InvalidInputError("before", "is not a cursor this page gave")
    try:
        stamp = datetime.fromisoformat(found.group(1))
    except ValueError:
        raise InvalidInputError("before", "is not a cursor this page gave") from None
    return stamp, found.group(2)


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError("limit", f"must be between 1 and {MAX_LIMIT}")
    return limit


def _conditions(filters: LogFilter) -> list[Any]:
    where: list[Any] = []
    if filters.level is not None:
        where.append(LogRecord.level.in_(LEVELS[LEVELS.index(filters.level) :]))
    if filters.since is not None:
        where.append(LogRecord.timestamp >= filters.since)
    if filters.request_id is not None:
        where.append(LogRecord.request_id == filters.request_id)
    if filters.logger is not None:
        # A logger and its children: "myia.gateway" finds "myia.gateway.service".
        name = LogRecord.metadata_["logger_name"].as_string()
        where.append(or_(name == filters.logger, name.startswith(filters.logger + ".")))
    return where


def _line(row: LogRecord) -> LogLine:
    metadata = dict(row.metadata_ or {})
    logger = metadata.pop("logger_name", None)
    return LogLine(
        id=row.id,
        timestamp=row.timestamp,
        level=row.level,
        message=row.message,
        logger=str(logger) if logger is not None else None,
        request_id=row.request_id,
        user_id=row.user_id,
        metadata=metadata,
        error=row.error,
    )


async def query_logs(
    *,
    session: AsyncSession,
    filters: LogFilter,
    limit: int = DEFAULT_LIMIT,
    before: str | None = None,
) -> LogPage:
    """One page of lines, newest first; `before` is a page's `next_cursor`."""
    check_limit(limit)
    where = _conditions(filters)
    if before:
        stamp, row_id = _parse_cursor(before)
        where.append(
            or_(
                LogRecord.timestamp < stamp,
                and_(LogRecord.timestamp == stamp, LogRecord.id < row_id),
            )
        )
    rows: Sequence[LogRecord] = (
        await session.scalars(
            select(LogRecord)
            .where(*where)
            .order_by(LogRecord.timestamp.desc(), LogRecord.id.desc())
            .limit(limit + 1)
        )
    ).all()
    lines = [_line(row) for row in rows[:limit]]
    return LogPage(lines=lines, next_cursor=lines[-1].cursor if len(rows) > limit else None)


async def logs_from(
    *, session: AsyncSession, filters: LogFilter, start: datetime | None, limit: int = MAX_LIMIT
) -> list[LogLine]:
    """Lines at or after `start`, oldest first: what `--follow` polls. Lines reach the table
    in batches, some a moment after later ones, so a follower re-reads a short window behind
    its last line and skips the ids it printed (`FOLLOW_OVERLAP`)."""
    check_limit(limit)
    where = _conditions(filters)
    if start is not None:
        where.append(LogRecord.timestamp >= start)
    rows = (
        await session.scalars(
            select(LogRecord).where(*where).order_by(LogRecord.timestamp, LogRecord.id).limit(limit)
        )
    ).all()
    return [_line(row) for row in rows]


FOLLOW_OVERLAP = timedelta(seconds=10)
