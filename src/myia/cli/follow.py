"""Run and follow certification jobs from the command line.

A job lives in the database; workers do its items. With the embedded engine (no QUEUE_URL)
the command itself is the worker: it starts an `EmbeddedEngine` in-process for the length of
the run. With a distributed queue it only enqueues, and `myia worker` processes do the work.
Either way the command follows the job from the database, printing each finished item, with
a live progress bar on a terminal. Ctrl+C pauses the job (nothing is lost; items being run
go back to the queue) and says how to resume it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from myia.catalog.cache import CatalogCache, build_catalog_cache
from myia.certification import jobs, queries
from myia.certification.schemas import JobItemPublic
from myia.certification.spend import BUDGET
from myia.cli.console import console
from myia.cli.report import usd
from myia.config import Settings
from myia.db.engine import Database
from myia.db.enums import JobItemStatus, JobStatus
from myia.db.models import CertificationJob
from myia.errors import InvalidInputError, MyIAError
from myia.observability.logging import configure_logging
from myia.queue import items as queue_items
from myia.queue.engine import QueueEngine
from myia.queue.factory import build_engine

POLL_S = 0.25
# A follower gives up after this long without any sign of life from the job: no item
# claimed, finished, given back or renewed (a running worker renews its items' lease every
# heartbeat, so a long item is progress too).
STALL_S = 300.0
EXIT_INTERRUPTED = 130  # the shell's code for "stopped by Ctrl+C"

OnItem = Callable[[JobItemPublic, int, int], None]


class EngineUnavailableError(MyIAError):
    pass


def engine_label(settings: Settings, *, wait: bool = True) -> str:
    """Who runs the work; `wait=False` (`--no-wait`): this command returns before any does."""
    if settings.queue_url:
        return "distributed (QUEUE_URL) — `myia worker` processes run the work"
    if not wait:
        return "embedded — the workers of a running `myia serve` run the work"
    return f"embedded — this command runs the work ({settings.queue_concurrency} workers)"


def quiet_logging(settings: Settings) -> None:
    """In-process workers log every item; on an operator's terminal only problems matter."""
    level = settings.log_level.upper()
    configure_logging(level if level in ("ERROR", "CRITICAL") else "WARNING", json=False)


@contextlib.asynccontextmanager
async def queue_engine(
    database: Database, settings: Settings, *, run_work: bool
) -> AsyncIterator[QueueEngine]:
    """The configured engine, connected. `run_work`: an embedded engine also starts its
    workers here (the command is the worker); a distributed one never runs work here."""
    # Work run here must still tell the servers' caches that verdicts changed (Redis only).
    cache = await _invalidation_publisher(settings) if run_work else None
    try:
        try:
            engine = build_engine(database, settings, catalog_cache=cache)
        except Exception as exc:  # a missing optional engine or a malformed QUEUE_URL
            raise EngineUnavailableError(f"queue engine unavailable: {exc}") from exc
        started = run_work or engine.name != "embedded"
        if started:
            try:
                await engine.start()
            except Exception as exc:  # Redis down, bad credentials in QUEUE_URL, …
                raise EngineUnavailableError(
                    f"cannot start the {engine.name} queue engine: {type(exc).__name__}: {exc}"
                ) from exc
        try:
            yield engine
        finally:
            if started:
                await engine.stop()
                if engine.name == "embedded":
                    await release_held(database, getattr(engine, "worker_id", ""))
    finally:
        if cache is not None:
            await cache.stop()


async def _invalidation_publisher(settings: Settings) -> CatalogCache | None:
    if not settings.redis_url:
        return None
    cache = build_catalog_cache(ttl_s=0, redis_url=settings.redis_url)
    try:
        await cache.start()
    except Exception:  # Redis down: servers see the new verdicts after their cache TTL
        return None
    return cache


async def release_held(database: Database, worker_id: str) -> int:
    """Give the items this process was running back to the queue at once (no attempt
    counted), instead of leaving them to the dead-worker recovery a minute later."""
    async with database.session() as session:
        held = await queries.held_items(session=session, worker_id=worker_id)
        for item_id in held:
            await queue_items.release(
                session, item_id, worker_id, delay_s=0, error=None, refund_attempt=True
            )
    return len(held)


@dataclass
class FollowResult:
    status: JobStatus
    items: list[JobItemPublic]
    elapsed_s: float
    interrupted: bool = False
    stalled: bool = False
    max_cost_usd: float | None = None


def _progress() -> Progress | None:
    if not console.is_terminal:
        return None
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def _install_interrupt(interrupt: asyncio.Event) -> bool:
    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, interrupt.set)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, Windows
        return False
    return True


async def _pause_for_interrupt(database: Database, job_id: str) -> None:
    async with database.session() as session:
        with contextlib.suppress(InvalidInputError):  # it finished meanwhile
            await jobs.pause_job(session=session, job_id=job_id)


async def follow_job(
    database: Database,
    job_id: str,
    *,
    on_item: OnItem,
    interrupt: asyncio.Event | None = None,
    poll_s: float = POLL_S,
    stall_s: float = STALL_S,
) -> FollowResult:
    """Print each item as it finishes until the job ends (completed, cancelled, or paused —
    by Ctrl+C here or by anyone else). Items finished before the call are not reprinted.

    Gives up, saying so, when nothing of the job moves for `stall_s` (`stalled` in the
    result; the job's status is then still active, so the caller exits non-zero)."""
    interrupt = interrupt or asyncio.Event()
    handled = _install_interrupt(interrupt)
    started = time.monotonic()
    async with database.session() as session:
        total = (await jobs.get_job(session=session, job_id=job_id)).total_models
        seen = {
            i.id
            for i in await queries.finished_items_since(session=session, job_id=job_id, seen=set())
        }
    index = len(seen)
    progress = _progress()
    task = progress.add_task("certifying", total=total, completed=index) if progress else None
    interrupted = stalled = False
    mark: object = None
    moved_at = time.monotonic()
    try:
        if progress is not None:
            progress.start()
        while True:
            if interrupt.is_set():
                interrupted = True
                console.print("\n⏸️  Ctrl+C: pausing the job — no new item will start")
                await _pause_for_interrupt(database, job_id)
            fresh, job, now_mark = await _poll(database, job_id, seen)
            for item in fresh:
                seen.add(item.id)
                index += 1
                if item.status is not JobItemStatus.CANCELLED or item.outcome == BUDGET:
                    on_item(item, index, total)
            if progress is not None and task is not None:  # items done and the spend, live
                progress.update(
                    task, completed=index, description=f"certifying · {spend_label(job)}"
                )
            if interrupted or not queries.is_active(job.status):
                break
            if now_mark != mark:
                mark, moved_at = now_mark, time.monotonic()
            elif time.monotonic() - moved_at > stall_s:
                stalled = True
                _say_stalled(job_id, stall_s)
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(interrupt.wait(), poll_s)
    finally:
        if progress is not None:
            progress.stop()
        if handled:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)
    async with database.session() as session:
        final = await jobs.get_job(session=session, job_id=job_id)
        rows = await queries.job_item_rows(session=session, job_id=job_id)
    return FollowResult(
        final.status, rows, time.monotonic() - started, interrupted, stalled, final.max_cost_usd
    )


def spend_label(job: CertificationJob) -> str:
    """`$0.0123 spent of $0.5` (the cap when there is one)."""
    cap = f" of {usd(job.max_cost_usd)}" if job.max_cost_usd is not None else ""
    return f"{usd(job.spent_usd or 0.0)} spent{cap}"


async def _poll(
    database: Database, job_id: str, seen: set[str]
) -> tuple[list[JobItemPublic], CertificationJob, tuple[object, ...]]:
    """Items finished since `seen`, the job, and its activity mark."""
    async with database.session() as session:
        fresh = await queries.finished_items_since(session=session, job_id=job_id, seen=seen)
        job = await jobs.get_job(session=session, job_id=job_id)
        mark = await queue_items.activity(session, job_id)
        if not queries.is_active(job.status):  # catch items finished in between
            fresh = await queries.finished_items_since(session=session, job_id=job_id, seen=seen)
    return fresh, job, mark


def _say_stalled(job_id: str, stall_s: float) -> None:
    console.print(
        f"\n⚠️  No progress on job {job_id} for {stall_s:g}s: no worker took, finished or ran "
        "any of its items. Check that workers run (`myia jobs stats`), then `myia jobs sync`; "
        f"the job goes on meanwhile — follow it with `myia jobs show {job_id} --follow`."
    )
