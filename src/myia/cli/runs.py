"""Plan, create and run a certification job: what `certify`, `recertify`, `jobs resume` and
the operator menu share.

Bad input (unknown model or region, empty selection, `--model` with `--all`) is refused
before anything is written: no job is created.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification import jobs, queries, spend
from myia.certification.regions import GLOBAL_REGION
from myia.certification.selection import JobSelection, resolve_items
from myia.cli.console import console, fail
from myia.cli.db import run_on_database, say
from myia.cli.follow import (
    EXIT_INTERRUPTED,
    FollowResult,
    engine_label,
    follow_job,
    queue_engine,
    quiet_logging,
)
from myia.cli.report import RunSummary, duration, item_line, spend_lines, summary_lines, usd
from myia.config import Settings, get_settings
from myia.db.engine import Database
from myia.db.enums import CertificationJobType, JobStatus
from myia.db.models import CertificationJob, ModelCertification, ModelDeployment
from myia.db.types import utcnow
from myia.maintenance.schema import require_schema
from myia.queue.stats import last_24h

# Seed 004's target for one item on a real cloud, used to estimate until the queue has
# measured its own.
DEFAULT_ITEM_S = 10.0
# The simulator answers in milliseconds: an item there costs this machine's CPU, not the
# network. The demo's `certify --all` (242 items, 5 workers) took 28 s on a quiet machine
# (0.6 s a round) and 84 s on a loaded one (1.7 s): 1 s keeps the estimate within 2x of both.
SIMULATED_ITEM_S = 1.0
T = TypeVar("T")


def run_checked(action: Callable[[Database], Awaitable[T]]) -> T:
    """`run_on_database`, refusing (one line, exit 1) a database whose schema is not migrated."""

    async def checked(database: Database) -> T:
        await require_schema(database)
        return await action(database)

    return run_on_database(checked)


def split_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def build_selection(**fields: Any) -> JobSelection:
    """A JobSelection, or a clear error on stderr (exit 1) naming the option at fault."""
    try:
        return JobSelection(**fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error.get("loc", ())) or "selection"
        raise fail(f"{where}: {error.get('msg', 'invalid')}") from exc


@dataclass
class Plan:
    pairs: list[tuple[ModelDeployment, str]]
    existing: dict[tuple[str, str], ModelCertification]
    average_item_s: float
    # The most the job can spend (every item's estimated maximum), and the unpriced items
    # that figure cannot include (myia.certification.spend).
    max_cost_usd: float = 0.0
    unpriced: list[str] = field(default_factory=list)

    def cost_line(self) -> str:
        unknown = f" + {len(self.unpriced)} unpriced item(s), cost unknown" if self.unpriced else ""
        return f"at most {usd(self.max_cost_usd)}{unknown}"

    @property
    def models(self) -> int:
        return len({d.id for d, _ in self.pairs})

    @property
    def regions(self) -> list[str]:
        found = {r for _, r in self.pairs}
        return sorted(found - {GLOBAL_REGION}) + ([GLOBAL_REGION] if GLOBAL_REGION in found else [])

    def estimate_s(self, concurrency: int, delay_ms: int = 0) -> float:
        rounds = math.ceil(len(self.pairs) / max(concurrency, 1))
        return rounds * (self.average_item_s + delay_ms / 1000)


async def make_plan(database: Database, settings: Settings, selection: JobSelection) -> Plan:
    """What a job of `selection` would certify now (raises InvalidInputError on bad input)."""
    async with database.session() as session:
        _, pairs = await resolve_items(
            session=session, selection=selection, default_regions=settings.default_regions
        )
        existing = await queries.certifications_of(
            session=session, deployment_ids=[d.id for d, _ in pairs]
        )
        measured = await measured_item_s(session, settings.queue_concurrency)
        measured = measured or (await last_24h(session))["avg_item_seconds"]
        most, unpriced = await spend.max_job_cost(session, pairs, deep=selection.deep)
    return Plan(pairs, existing, measured or default_item_s(pairs), most, unpriced)


async def measured_item_s(session: AsyncSession, concurrency: int) -> float | None:
    """Wall-clock seconds per item of the jobs completed in the last 24 h, times the
    concurrency: what one round costs with the queue's own overheads (claims, writes, waits
    for a free worker) in it, which the items' own durations leave out."""
    since = utcnow() - timedelta(hours=24)
    rows = (
        await session.execute(
            select(CertificationJob.started_at, CertificationJob.completed_at,
                   CertificationJob.total_models).where(
                CertificationJob.status == JobStatus.COMPLETED,
                CertificationJob.completed_at >= since,
                CertificationJob.total_models > 0,
            )
        )
    ).all()  # fmt: skip
    timed = [(r.completed_at - r.started_at, r.total_models) for r in rows if r.started_at]
    items = sum(n for _, n in timed)
    wall = sum(t.total_seconds() for t, _ in timed)
    return wall / items * concurrency if items and wall > 0 else None


def default_item_s(pairs: list[tuple[ModelDeployment, str]]) -> float:
    """Seconds per item before any was measured: simulated providers are fast, clouds not."""
    if not pairs:
        return DEFAULT_ITEM_S
    each = [SIMULATED_ITEM_S if d.provider.is_simulated else DEFAULT_ITEM_S for d, _ in pairs]
    return sum(each) / len(each)


@dataclass
class RunRequest:
    selection: JobSelection
    wait: bool = True
    job_type: CertificationJobType | None = None
    config: dict[str, Any] = field(default_factory=dict)
    cleanup: bool = False
    concurrency: int | None = None


@dataclass
class RunOutcome:
    job_id: str
    engine: str
    cleaned: int = 0
    follow: FollowResult | None = None


def print_item(item: Any, index: int, total: int) -> None:
    console.print(item_line(item, index, total), soft_wrap=True)


def run_settings(settings: Settings, concurrency: int | None) -> Settings:
    if concurrency is None:
        return settings
    return settings.model_copy(update={"queue_concurrency": concurrency})


async def create_and_follow(
    database: Database,
    settings: Settings,
    request: RunRequest,
    on_item: Callable[[Any, int, int], None] = print_item,
) -> RunOutcome:
    """Create the job (cleanup first when asked), enqueue it, and follow it to its end."""
    settings = run_settings(settings, request.concurrency)
    async with queue_engine(database, settings, run_work=request.wait) as engine:
        say("🚀 Creating the certification job...")
        async with database.session() as session:
            job, item_ids = await jobs.create_job(
                session=session,
                selection=request.selection,
                default_regions=settings.default_regions,
                config={"source": "cli", **request.config},
                job_type=request.job_type,
            )
        say(f"[green]✅ Job created:[/green] {job.id}")
        outcome = RunOutcome(job.id, engine.name)
        if request.cleanup:
            async with database.session() as session:
                outcome.cleaned = await queries.delete_certifications_of_job(
                    session=session, job_id=job.id
                )
            say(f"🧹 Cleanup: {outcome.cleaned} existing certification(s) deleted")
        await engine.enqueue(item_ids)
        if not request.wait:
            return outcome
        say(f"📦 Processing {job.total_models} item(s)... (Ctrl+C pauses the job)")
        outcome.follow = await follow_job(database, job.id, on_item=on_item)
    return outcome


def print_plan_summary(plan: Plan, settings: Settings, engine: str) -> None:
    say("📊 Summary:")
    say(f"   Items:     {len(plan.pairs)} (deployment × region) over {plan.models} model(s)")
    say(f"   Regions:   {', '.join(plan.regions)}")
    say(f"   Engine:    {engine}")
    estimate = duration(plan.estimate_s(settings.queue_concurrency))
    say(f"   Estimate:  ~{estimate}")
    say(f"   Cost:      {plan.cost_line()}")


def resume_hint(job_id: str) -> str:
    return f"⏸️  Job {job_id} paused. Resume it with: myia jobs resume {job_id}"


def finish_run(result: FollowResult, job_id: str) -> None:
    """The final report of a certify run, and its exit status (0 when it completed)."""
    summary = RunSummary(result.items, result.elapsed_s)
    headlines = {
        JobStatus.COMPLETED: "[green]✅ Certification finished![/green]",
        JobStatus.CANCELLED: "[red]✖ Job cancelled[/red]",
        JobStatus.PAUSED: "[yellow]⏸️  Job paused[/yellow]",
    }
    headline = headlines.get(result.status, f"Job {result.status.value}")
    spent = spend_lines(result.items, result.max_cost_usd)
    for line in [*summary_lines(summary, headline), *spent]:
        say(line)
    say("")
    say("💡 Next steps:")
    say(f"   1. Details of this job: myia jobs show {job_id}")
    say("   2. Failures: myia certifications check --status FAILED")
    if result.status is JobStatus.PAUSED:
        say(resume_hint(job_id))
        raise typer.Exit(EXIT_INTERRUPTED if result.interrupted else 0)
    if result.status is not JobStatus.COMPLETED:
        raise typer.Exit(1)


def certify_selection(selection: JobSelection, *, wait: bool) -> None:
    """`myia certify`: plan, create, run in-process (embedded) or on the queue, report."""
    settings = get_settings()
    quiet_logging(settings)

    async def action(database: Database) -> RunOutcome:
        plan = await make_plan(database, settings, selection)
        print_plan_summary(plan, settings, engine_label(settings, wait=wait))
        return await create_and_follow(database, settings, RunRequest(selection, wait=wait))

    outcome = run_checked(action)
    if outcome.follow is None:
        say(f"📨 Job {outcome.job_id} queued; follow it with: myia jobs show {outcome.job_id}")
        if outcome.engine == "embedded":
            say("   With the embedded engine, the workers of a running `myia serve` take it.")
        return
    finish_run(outcome.follow, outcome.job_id)
