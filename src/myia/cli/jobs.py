"""`myia jobs`: list, show, pause, resume, cancel, clean, sync, stats.

Each command is a thin wrapper over a plain function the operator menu (`myia manage`)
calls too. `resume` behaves like `certify`: with the embedded engine this command runs the
remaining items itself, live; with QUEUE_URL it re-enqueues them for the workers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.table import Table

from myia.certification import jobs as job_service
from myia.certification import queries
from myia.certification.schemas import JobDetail, JobProgress, QueueStats
from myia.cli.console import console, fail, is_interactive
from myia.cli.db import say
from myia.cli.follow import FollowResult, follow_job, queue_engine, quiet_logging
from myia.cli.report import cost_text, duration, usd
from myia.cli.runs import finish_run, print_item, run_checked, run_settings
from myia.config import get_settings
from myia.db.engine import Database
from myia.db.enums import JobStatus
from myia.db.models import CertificationJob
from myia.queue import service
from myia.queue.heartbeat import stale_after_s, workers
from myia.queue.stats import queue_stats

app = typer.Typer(help="Certification jobs and the queue.", no_args_is_help=True)

JobIdArg = typer.Argument(..., help="Job id (see `myia jobs list`).")
STATUS_STYLE = {
    "COMPLETED": "green",
    "FAILED": "red",
    "CANCELLED": "red",
    "PAUSED": "yellow",
    "PROCESSING": "cyan",
    "QUEUED": "cyan",
}


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def _status(value: str) -> str:
    style = STATUS_STYLE.get(value)
    return f"[{style}]{value}[/{style}]" if style else value


# --- list / show ---------------------------------------------------------------------------
def show_history(status: JobStatus | None = None, limit: int = 20) -> None:
    async def action(database: Database) -> list[CertificationJob]:
        async with database.session() as session:
            return await job_service.list_jobs(session=session, status=status, limit=limit)

    found = run_checked(action)
    if not found:
        say("No certification jobs yet. Start one with `myia certify`.")
        return
    table = Table(title=f"📜 Job history ({len(found)})", title_justify="left")
    for column in ("id", "type", "status", "progress", "✅", "❌", "regions", "created"):
        table.add_column(column, overflow="fold")
    for job in found:
        table.add_row(
            job.id,
            job.type.value,
            _status(job.status.value),
            f"{job.processed_models}/{job.total_models}",
            str(job.success_count),
            str(job.failure_count),
            ", ".join(job.regions),
            _when(job.created_at),
        )
    console.print(table)


@app.command("list")
def list_command(
    status: JobStatus | None = typer.Option(None, "--status", help="Only jobs in this status."),
    limit: int = typer.Option(20, "--limit", min=1, max=500, help="Most recent N jobs."),
) -> None:
    """Job history, newest first."""
    show_history(status, limit)


def _detail(job_id: str) -> JobDetail:
    concurrency = get_settings().queue_concurrency

    async def action(database: Database) -> JobDetail:
        async with database.session() as session:
            return await queries.job_detail(session=session, job_id=job_id, concurrency=concurrency)

    return run_checked(action)


def show_job(job_id: str) -> None:
    job = _detail(job_id)
    p = job.progress
    say(f"🔍 Job {job.id}")
    say(f"   Type:      {job.type.value}")
    say(f"   Status:    {_status(job.status.value)}")
    say(f"   Progress:  {p.processed}/{p.total} ({p.percent}%) — ETA {duration(p.eta_seconds)}")
    say(f"   Success:   {job.success_count}   Failure: {job.failure_count}")
    say(f"   Regions:   {', '.join(job.regions)}")
    say(f"   Created:   {_when(job.created_at)}   Started: {_when(job.started_at)}")
    say(f"   Finished:  {_when(job.completed_at)}")
    summary = ", ".join(f"{k} {v}" for k, v in job.items_summary.items() if v)
    say(f"   Items:     {summary or 'none'}")
    cap = f" of a {usd(job.max_cost_usd)} cap" if job.max_cost_usd is not None else ""
    held = f", {usd(job.reserved_usd)} held by running items" if job.reserved_usd else ""
    say(f"   Spent:     {usd(job.spent_usd)}{cap}{held}")
    if job.unpriced_items:
        say(f"   Unpriced:  {len(job.unpriced_items)} item(s), cost unknown (not counted)")
    if job.uncertified_for_budget:
        left = ", ".join(escape(x) for x in job.uncertified_for_budget)
        say(f"   Left uncertified for budget: {left}")
    table = Table(title="Items", title_justify="left")
    columns = ("deployment", "region", "status", "outcome", "badge", "rating", "tries", "time")
    for column in (*columns, "cost"):
        table.add_column(column, overflow="fold")
    for item in job.items:
        table.add_row(
            escape(item.deployment_id),
            item.region,
            _status(item.status.value),
            escape(item.outcome or "—"),
            item.badge or "—",
            f"{item.rating:.1f}" if item.rating is not None else "—",
            str(item.attempts),
            duration(item.duration_s),
            cost_text(item) or "—",
        )
    console.print(table)


def follow(job_id: str) -> None:
    """Print the job's items as they finish until it ends; exit non-zero if it does not
    complete, or if nothing of it moves for `STALL_S` (said so)."""
    quiet_logging(get_settings())

    async def action(database: Database) -> FollowResult:
        return await follow_job(database, job_id, on_item=print_item)

    finish_run(run_checked(action), job_id)


@app.command("show")
def show_command(
    job_id: str = JobIdArg,
    follow_it: bool = typer.Option(
        False, "--follow", "-f", help="Then print items as they finish, until the job ends."
    ),
) -> None:
    """A job: progress, ETA, items per status and every item with its outcome."""
    show_job(job_id)
    if follow_it:
        follow(job_id)


# --- transitions -----------------------------------------------------------------------------
def pause(job_id: str) -> None:
    async def action(database: Database) -> CertificationJob:
        async with database.session() as session:
            return await job_service.pause_job(session=session, job_id=job_id)

    job = run_checked(action)
    say(f"⏸️  Job {job.id} is {job.status.value}: running items finish, no new one starts.")
    say(f"   Resume it with: myia jobs resume {job.id}")


def cancel(job_id: str) -> None:
    async def action(database: Database) -> CertificationJob:
        async with database.session() as session:
            return await job_service.cancel_job(session=session, job_id=job_id)

    job = run_checked(action)
    not_run = job.total_models - job.success_count - job.failure_count
    say(f"✖ Job {job.id} is {job.status.value}: {not_run} item(s) will not run;")
    say("   results arriving from items still running are discarded.")


def resume(job_id: str, *, wait: bool = True) -> None:
    settings = get_settings()
    quiet_logging(settings)

    async def action(database: Database) -> FollowResult | None:
        async with database.session() as session:
            job = await job_service.get_job(session=session, job_id=job_id)
        sequential = bool((job.config or {}).get("delay_ms"))
        run = run_settings(settings, 1 if sequential else None)
        async with queue_engine(database, run, run_work=wait) as engine:
            async with database.session() as session:
                await service.resume_job(session=session, engine=engine, job_id=job_id)
            say(f"▶️  Job {job_id} resumed.")
            if not wait:
                return None
            return await follow_job(database, job_id, on_item=print_item)

    result = run_checked(action)
    if result is not None:
        finish_run(result, job_id)


@app.command("pause")
def pause_command(job_id: str = JobIdArg) -> None:
    """Pause: workers stop taking the job's items; running ones finish."""
    pause(job_id)


@app.command("resume")
def resume_command(
    job_id: str = JobIdArg,
    no_wait: bool = typer.Option(False, "--no-wait", help="Re-enqueue and return."),
) -> None:
    """Resume a paused job (and, with the embedded engine, run it here, live)."""
    resume(job_id, wait=not no_wait)


@app.command("cancel")
def cancel_command(
    job_id: str = JobIdArg,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would happen; change nothing."),
) -> None:
    """Cancel: unfinished items are cancelled at once (asks first unless --yes)."""
    from myia.cli.confirm import confirm_or_exit

    async def look(database: Database) -> CertificationJob:
        async with database.session() as session:
            return await job_service.get_job(session=session, job_id=job_id)

    job = run_checked(look)
    left = job.total_models - job.success_count - job.failure_count
    say(f"Job {job.id} is {job.status.value}: cancelling stops its {left} unfinished item(s).")
    if dry_run:
        say("Dry run: nothing was changed.")
        return
    confirm_or_exit(yes=yes, question=f"Cancel job {job_id}?", action="cancel a job")
    cancel(job_id)


# --- clean / sync ----------------------------------------------------------------------------
def clean(
    *,
    dry_run: bool,
    yes: bool,
    completed_after_h: float | None = None,
    failed_after_h: float | None = None,
) -> int:
    settings = get_settings()
    completed_h = completed_after_h or settings.queue_clean_completed_after_h
    failed_h = failed_after_h or settings.queue_clean_failed_after_h

    def count(really: bool) -> int:
        async def action(database: Database) -> int:
            async with database.session() as session:
                return await job_service.clean_jobs(
                    session=session,
                    completed_after_h=completed_h,
                    failed_after_h=failed_h,
                    dry_run=not really,
                )

        return run_checked(action)

    found = count(False)
    rule = f"completed > {completed_h:g} h, failed or cancelled > {failed_h:g} h ago"
    say(f"🧹 {found} finished job(s) to delete ({rule}); certifications stay.")
    if dry_run or not found:
        if dry_run:
            say("Dry run: nothing was changed.")
        return found
    if not yes:
        if not is_interactive():
            raise fail("refusing to delete jobs without --yes: no terminal to confirm on")
        if not typer.confirm(f"Delete {found} job(s)?", default=False):
            raise fail("cancelled: nothing was changed")
    deleted = count(True)
    say(f"[green]✅[/green] {deleted} job(s) deleted")
    return deleted


@app.command("clean")
def clean_command(
    dry_run: bool = typer.Option(False, "--dry-run", help="Count only; delete nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    completed_after_h: float | None = typer.Option(
        None, "--completed-after-h", min=0.01, help="Default: QUEUE_CLEAN_COMPLETED_H (24)."
    ),
    failed_after_h: float | None = typer.Option(
        None, "--failed-after-h", min=0.01, help="Default: QUEUE_CLEAN_FAILED_H (48)."
    ),
) -> None:
    """Delete old finished jobs: completed after 24 h, failed/cancelled after 48 h."""
    clean(
        dry_run=dry_run,
        yes=yes,
        completed_after_h=completed_after_h,
        failed_after_h=failed_after_h,
    )


def sync() -> dict[str, int]:
    settings = get_settings()

    async def action(database: Database) -> dict[str, int]:
        async with (
            queue_engine(database, settings, run_work=False) as engine,
            database.session() as session,
        ):
            return await service.sync_queue(session=session, engine=engine)

    counts = run_checked(action)
    say(
        f"🔄 Database ↔ queue synchronised: {counts.get('requeued', 0)} re-enqueued, "
        f"{counts.get('dropped', 0)} dropped, {counts.get('recovered', 0)} recovered from "
        f"dead workers or lost give-backs, {counts.get('recounted', 0)} job(s) recounted"
    )
    return counts


@app.command("sync")
def sync_command() -> None:
    """Reconcile the queue with the database (the database is the record of truth)."""
    sync()


# --- stats -----------------------------------------------------------------------------------
def collect_stats() -> QueueStats:
    settings = get_settings()

    async def action(database: Database) -> QueueStats:
        async with queue_engine(database, settings, run_work=False) as engine:
            async with database.session() as session:
                figures = await queue_stats(session, concurrency=settings.queue_concurrency)
                found = await workers(session, stale_after_s=stale_after_s(settings))
            return QueueStats(**figures, engine=await engine.health(), workers=found)

    return run_checked(action)


def _job_row(job: JobProgress) -> list[Any]:
    bar = ProgressBar(total=max(job.total, 1), completed=job.processed, width=24)
    return [
        job.job_id,
        _status(job.status.value),
        bar,
        f"{job.processed}/{job.total} ({job.percent}%)",
        duration(job.eta_seconds),
        usd(job.spent_usd or 0.0)
        + (f" of {usd(job.max_cost_usd)}" if job.max_cost_usd is not None else ""),
    ]


def _health_rows(stats: QueueStats) -> list[tuple[str, str, str, bool | None]]:
    h, t = stats.last_24h, stats.last_24h.thresholds

    def pct(value: float | None) -> str:
        return "—" if value is None else f"{100 * value:.1f}%"

    def ok(value: float | None, good: bool) -> bool | None:
        return None if value is None else good

    return [
        ("success rate", pct(h.success_rate), f"> {100 * t['success_rate_min']:.0f}%",
         ok(h.success_rate, (h.success_rate or 0) >= t["success_rate_min"])),
        ("retry rate", pct(h.retry_rate), f"< {100 * t['retry_rate_max']:.0f}%",
         ok(h.retry_rate, (h.retry_rate or 0) <= t["retry_rate_max"])),
        ("average time per item", duration(h.avg_item_seconds),
         f"< {t['avg_item_seconds_max']:.0f}s",
         ok(h.avg_item_seconds, (h.avg_item_seconds or 0) <= t["avg_item_seconds_max"])),
    ]  # fmt: skip


def show_stats() -> QueueStats:
    stats = collect_stats()
    engine = stats.engine
    say(f"📊 Queue statistics — engine: {engine.get('engine')} ({engine.get('status')})")
    counts = Table(title="Items", title_justify="left")
    names = ("waiting", "active", "delayed", "completed", "failed", "cancelled")
    for name in names:
        counts.add_column(name, justify="right")
    counts.add_row(*(str(getattr(stats, name)) for name in names))
    console.print(counts)
    if stats.jobs:
        table = Table(title="Jobs in progress", title_justify="left")
        for column in ("job", "status", "progress", "done", "ETA", "spent"):
            table.add_column(column, overflow="fold")
        for job in stats.jobs:
            table.add_row(*_job_row(job))
        console.print(table)
    else:
        say("No job in progress.")
    health = Table(title=f"Last 24 h ({stats.last_24h.items} items)", title_justify="left")
    for column in ("metric", "value", "target", ""):
        health.add_column(column)
    for metric, value, target, good in _health_rows(stats):
        mark = "—" if good is None else "[green]✅[/green]" if good else "[red]❌[/red]"
        health.add_row(metric, value, target, mark)
    console.print(health)
    for alert in stats.last_24h.alerts:
        say(f"[bold red]🚨 ALERT: {escape(alert)}[/bold red]")
    alive = [w for w in stats.workers if w["alive"]]
    say(f"👷 Workers alive: {len(alive)} of {len(stats.workers)} known")
    for w in stats.workers:
        state = "[green]alive[/green]" if w["alive"] else "[red]silent[/red]"
        say(
            f"   {escape(w['id'])} ({w['engine']}) {state} — active {w['active_items']}, "
            f"processed {w['processed_items']}, last seen {w['last_seen_at']}"
        )
    return stats


@app.command("stats")
def stats_command() -> None:
    """Waiting / active / completed / failed / delayed, per-job progress, 24 h health."""
    show_stats()
