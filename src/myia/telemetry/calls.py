"""Every provider call as one `api_call_logs` row, written in batches off the request path.

`record()` only appends to an in-memory queue (and updates the Prometheus series), so no
request ever waits on the database. A background task started by the app's lifespan, the
worker or a CLI command (`CALL_LOG.running(database)`) writes the queue in batches: when
`max_batch` records are waiting, every `interval_s`, and once more on shutdown. A batch the
database refuses stays queued for the next flush; the queue is bounded (`max_pending`), and
what falls off it is counted in `dropped`. A row the database rejects on its own (a foreign
key to a user deleted meanwhile) is dropped alone so that it cannot block the others.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import Table, insert
from sqlalchemy.exc import DBAPIError, IntegrityError

from myia.db.engine import Database
from myia.db.models import ApiCallLog
from myia.db.types import new_id, utcnow
from myia.observability.logging import get_logger
from myia.telemetry import prom

Operation = Literal["chat", "gateway", "certification", "discovery", "credential_validation"]
OPERATIONS: tuple[str, ...] = (
    "chat",
    "gateway",
    "certification",
    "discovery",
    "credential_validation",
)
Status = Literal["success", "error"]

log = get_logger(__name__)

# Column widths of api_call_logs: a longer value would fail the whole batch on PostgreSQL.
_WIDTHS = {
    "provider": 64,
    "model": 300,
    "region": 50,
    "operation": 50,
    "status": 20,
    "error_category": 50,
    "request_id": 64,
    "cost_note": 200,
    "end_user": 256,
}
_MAX_ERROR = 4000


@dataclass
class CallRecord:
    """One provider call as the caller saw it (`latency_ms` includes the stream's end)."""

    operation: Operation
    provider: str
    model: str
    status: Status
    region: str | None = None
    deployment_id: str | None = None
    user_id: str | None = None
    message_id: str | None = None
    status_code: int | None = None
    latency_ms: float | None = None
    ttft_ms: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = None
    # Why `cost` is null when the call succeeded (an unpriced deployment, no usage reported).
    cost_note: str | None = None
    error: str | None = None
    error_category: str | None = None
    request_id: str | None = None
    # The gateway client's `user` (or `safety_identifier`): who the call was for, as it says.
    end_user: str | None = None
    # Set by the gateway when this attempt was followed by a retry on another deployment.
    fallback: bool = False
    created_at: datetime = field(default_factory=utcnow)

    def row(self) -> dict[str, Any]:
        # Every field is a scalar: a shallow read, not `asdict`'s deep copy (profiled: the
        # deep copy was most of the writer's Python time at gateway rates).
        values = {name: getattr(self, name) for name in _FIELD_NAMES}
        values.pop("fallback")
        ttft = values.pop("ttft_ms")
        values["id"] = new_id()
        values["time_to_first_token_ms"] = None if ttft is None else round(ttft)
        if values["latency_ms"] is not None:
            values["latency_ms"] = round(values["latency_ms"])
        for name, width in _WIDTHS.items():
            if values[name] is not None:
                values[name] = str(values[name])[:width]
        if values["error"] is not None:
            values["error"] = str(values["error"])[:_MAX_ERROR]
        return values


_FIELD_NAMES = tuple(f.name for f in fields(CallRecord))


class CallLogWriter:
    def __init__(
        self, *, max_batch: int = 500, interval_s: float = 0.5, max_pending: int = 50_000
    ) -> None:
        self.max_batch = max_batch
        self.interval_s = interval_s
        self._pending: deque[CallRecord] = deque()
        self._max_pending = max_pending
        self.dropped = 0
        self.written = 0
        self._wake: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._database: Database | None = None

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def is_running(self) -> bool:
        return self._task is not None and not self._task.done()

    def record(self, record: CallRecord) -> None:
        """Queue one call; never blocks, never raises (telemetry must not fail a request)."""
        try:
            prom.observe_call(record)
        except Exception as exc:  # a label problem must not lose the row
            log.warning("prometheus observation failed", error=type(exc).__name__)
        self._pending.append(record)
        if len(self._pending) > self._max_pending:
            self._pending.popleft()
            self.dropped += 1
        prom.CALL_LOG_QUEUE.set(len(self._pending))
        if self._wake is not None and len(self._pending) >= self.max_batch:
            self._wake.set()

    def _bind_loop(self) -> None:
        # One writer serves whichever loop runs the app (tests start one per test); asyncio
        # primitives must not be shared across loops.
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._lock, self._wake = loop, asyncio.Lock(), asyncio.Event()

    async def flush(self, database: Database | None = None) -> int:
        """Write what is queued; when it returns, every record queued before is stored (or
        still queued because the database refused it, and the error is raised)."""
        database = database or self._database
        if database is None:
            return 0
        self._bind_loop()
        assert self._lock is not None
        written = 0
        async with self._lock:
            while self._pending:
                batch = [self._pending.popleft() for _ in range(min(self.max_batch, self.pending))]
                try:
                    written += await self._write(database, batch)
                except BaseException:
                    # Back to the front, in order, for the next flush (bounded by record()).
                    self._pending.extendleft(reversed(batch))
                    raise
                finally:
                    prom.CALL_LOG_QUEUE.set(len(self._pending))
        self.written += written
        return written

    async def _write(self, database: Database, batch: list[CallRecord]) -> int:
        rows = [record.row() for record in batch]
        try:
            await _insert(database, rows)
            return len(rows)
        except DBAPIError as exc:
            if not _row_fault(exc):
                raise  # the database itself is the problem: keep the batch for later
        # One row is at fault (a user or deployment deleted since the call): keep the others.
        written = 0
        for row in rows:
            try:
                await _insert(database, [row])
                written += 1
            except DBAPIError as exc:
                if not _row_fault(exc):
                    raise
                self.dropped += 1
                log.warning("call log row refused", operation=row["operation"])
        return written

    async def _run(self, database: Database, stopping: asyncio.Event) -> None:
        self._bind_loop()
        assert self._wake is not None
        try:
            while not stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.interval_s)
                self._wake.clear()
                try:
                    await self.flush(database)
                except Exception as exc:
                    log.warning("call log flush failed; will retry", error=type(exc).__name__)
        finally:
            with contextlib.suppress(Exception):
                await self.flush(database)

    def start(self, database: Database) -> None:
        """Start the background writer on the running loop (idempotent)."""
        if self.is_running:
            return
        self._bind_loop()
        self._database = database
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._run(database, self._stopping), name="myia-call-log")

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the writer after a last flush. It is asked, not cancelled: a write cut off
        mid-transaction could leave SQLite's write lock to an orphaned connection."""
        task, self._task = self._task, None
        if task is not None:
            self._stopping.set()
            if self._wake is not None:
                self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=timeout_s)
            except TimeoutError:  # the database hangs: give up on what is left
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._database = None

    @contextlib.asynccontextmanager
    async def running(self, database: Database) -> AsyncIterator[CallLogWriter]:
        """For a worker or a CLI command: write during the block, flush at its end."""
        started = not self.is_running
        if started:
            self.start(database)
        try:
            yield self
        finally:
            if started:
                await self.stop()


_TABLE = cast(Table, ApiCallLog.__table__)


async def _insert(database: Database, rows: list[dict[str, Any]]) -> None:
    # The table, not the mapped class: a Core executemany, without the ORM's bulk-insert
    # bookkeeping per row (the rows are plain dicts already).
    async with database.session() as session:
        await session.execute(insert(_TABLE), rows)
        await session.commit()


def _row_fault(exc: DBAPIError) -> bool:
    """A constraint or a value the database rejects (PostgreSQL 22xxx/23xxx) is the row's
    fault, not the database's: retrying it would block every later record."""
    if isinstance(exc, IntegrityError):
        return True
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return isinstance(code, str) and code.startswith("22")


CALL_LOG = CallLogWriter()


def call_log() -> CallLogWriter:
    """The process-wide writer (one per process, like the log sink)."""
    return CALL_LOG
