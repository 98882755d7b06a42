"""Copy log events into the `logs` table without blocking the request path.

Events are buffered in memory by a structlog processor (after redaction) and written in
batches by a background task owned by the app's lifespan; the CLI simply never starts it.
The table is best-effort: stdout has every event, so a batch the database refuses is dropped
(and counted) rather than retried forever.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from datetime import datetime
from typing import Any

from sqlalchemy import insert

from myia.db.engine import Database
from myia.db.models import LogRecord
from myia.db.types import new_id, utcnow

_COLUMNS = {"event", "level", "timestamp", "request_id", "user_id", "inference_id", "exception"}
_MAX_BUFFER = 10_000


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def _clip(value: Any, length: int) -> str | None:
    # A value longer than its column would make the whole batch fail on PostgreSQL.
    return None if value is None else str(value)[:length]


class DbLogSink:
    def __init__(self) -> None:
        self._buffer: deque[dict[str, Any]] = deque(maxlen=_MAX_BUFFER)
        self._enabled = False
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self.dropped = 0

    @property
    def enabled(self) -> bool:
        return self._enabled

    def enable(self) -> None:
        self._enabled = True

    def disable(self) -> None:
        self._enabled = False
        self._buffer.clear()

    def capture(self, event: dict[str, Any]) -> None:
        if self._enabled:
            self._buffer.append(event)

    def _flush_lock(self) -> asyncio.Lock:
        # One sink serves whichever event loop runs the app (tests start one per test); an
        # asyncio.Lock must not be shared across loops.
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    @staticmethod
    def _values(event: dict[str, Any]) -> dict[str, Any]:
        metadata = {k: _jsonable(v) for k, v in event.items() if k not in _COLUMNS}
        exception = event.get("exception")
        stamp = event.get("timestamp")
        return {
            "id": new_id(),
            "timestamp": datetime.fromisoformat(stamp) if isinstance(stamp, str) else utcnow(),
            "level": _clip(event.get("level", "info"), 10) or "info",
            "message": str(event.get("event", "")),
            "request_id": _clip(event.get("request_id"), 64),
            "user_id": _clip(event.get("user_id"), 36),
            "inference_id": _clip(event.get("inference_id"), 64),
            "metadata_": metadata or None,
            "error": {"exception": str(exception)} if exception else None,
        }

    @classmethod
    def _record(cls, event: dict[str, Any]) -> LogRecord:
        return LogRecord(**cls._values(event))

    async def flush(self, database: Database) -> int:
        """Write what is buffered; when it returns, every event captured before is stored.

        The lock matters: without it, a caller's flush could find the buffer already emptied
        by the background task and return before that task's commit.
        """
        async with self._flush_lock():
            events = []
            while self._buffer:  # popleft, not copy+clear: threads may log meanwhile
                events.append(self._buffer.popleft())
            if not events:
                return 0
            try:
                # One multi-row INSERT, not the ORM's unit of work: with every request
                # logged, building and flushing hundreds of objects each 0.5 s held the
                # event loop that serves the requests (bench/load.py --log-to-db).
                async with database.session() as session:
                    await session.execute(insert(LogRecord), [self._values(e) for e in events])
                    await session.commit()
            except Exception:
                self.dropped += len(events)
                raise
            return len(events)

    async def run(self, database: Database, interval_s: float = 0.5) -> None:
        """Flush forever; on cancellation, flush what is left."""
        try:
            while True:
                await asyncio.sleep(interval_s)
                with contextlib.suppress(Exception):
                    await self.flush(database)
        finally:
            with contextlib.suppress(Exception):
                await self.flush(database)


DB_SINK = DbLogSink()
