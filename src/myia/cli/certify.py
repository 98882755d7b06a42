"""`myia certify` and `myia recertify` (seed 000 §4 and seed 002).

Both create a job in the database. With the embedded engine the command runs the work
itself and follows it live; with QUEUE_URL it enqueues for `myia worker` and follows the job
from the database (`--no-wait` returns at once). Credentials come from the environment (the
AWS chain, `<SLUG>_API_KEY`): the CLI acts as the local operator, not as a user.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from myia.certification.selection import JobSelection, NothingOfferedError, resolve_selection
from myia.cli.console import console, fail, is_interactive
from myia.cli.db import say
from myia.cli.follow import EXIT_INTERRUPTED, engine_label, quiet_logging
from myia.cli.report import (
    RunSummary,
    duration,
    log_file_name,
    recertify_report,
    spend_lines,
    write_log,
)
from myia.cli.runs import (
    Plan,
    RunRequest,
    build_selection,
    certify_selection,
    create_and_follow,
    make_plan,
    resume_hint,
    run_checked,
    run_settings,
    split_list,
)
from myia.config import Settings, get_settings
from myia.db.engine import Database
from myia.db.enums import CertificationJobType, JobStatus
from myia.errors import InvalidInputError
from myia.maintenance.connection import mask_url

DEFAULT_LOG_DIR = Path("var") / "logs"
MAX_COST = typer.Option(
    None,
    "--max-cost",
    help="Stop before spending more than this (USD): items that would not fit are cancelled "
    "with the outcome budget, and the report lists them.",
)
ALLOW_UNPRICED = typer.Option(
    False,
    "--allow-unpriced",
    help="With --max-cost: also run deployments with no known price (their cost cannot be "
    "capped); without it such a selection is refused.",
)


def certify(
    model: list[str] | None = typer.Option(
        None, "--model", "-m", help="Base model id or name, or deployment id (repeatable)."
    ),
    vendor: str | None = typer.Option(None, "--vendor", help="Every model of this vendor."),
    region: list[str] | None = typer.Option(
        None, "--region", "-r", help="Every deployment in this region (repeatable)."
    ),
    all_models: bool = typer.Option(False, "--all", help="Every active deployment."),
    regions: str | None = typer.Option(
        None, "--regions", help="Regions to certify in, e.g. us-east-1,eu-west-1."
    ),
    provider: str | None = typer.Option(None, "--provider", help="Only this provider slug."),
    no_wait: bool = typer.Option(False, "--no-wait", help="Create the job and return."),
    deep: bool = typer.Option(
        False, "--deep", help="Long tool-call battery: 52 prompts instead of 12."
    ),
    probe_unlisted: bool = typer.Option(
        False,
        "--probe-unlisted",
        help="Also certify in regions where a deployment is not known to be offered.",
    ),
    uncertified: bool = typer.Option(
        False,
        "--uncertified",
        help="Only deployment × region pairs without any certification yet (combines with "
        "the other selections; alone: every active deployment).",
    ),
    max_cost: float | None = MAX_COST,
    allow_unpriced: bool = ALLOW_UNPRICED,
) -> None:
    """Certify models: one (--model), a vendor, a region, or all — per deployment × region."""
    models = model or []
    chosen_regions = [*(region or []), *split_list(regions)]
    if models and all_models:
        raise fail("--model and --all cannot be combined: choose one (nothing was created)")
    if not (models or vendor or region or all_models or provider or uncertified):
        raise fail("nothing to certify: pass --model, --vendor, --region, --all or --uncertified")
    selection = build_selection(
        models=models,
        vendor=vendor,
        provider=provider,
        all=all_models,
        regions=chosen_regions,
        deep=deep,
        probe_unlisted=probe_unlisted,
        recertify="uncertified" if uncertified else None,
        max_cost=max_cost,
        allow_unpriced=allow_unpriced,
    )
    say("🎯 Starting certification...")
    print_skipped(selection)
    certify_selection(selection, wait=not no_wait)


SKIPPED_SHOWN = 20


def print_skipped(selection: JobSelection) -> None:
    """The (deployment, region) pairs asked for but left out, each with its reason. An empty
    selection is `certify_selection`'s to refuse (it says why, exit 1, nothing created)."""
    settings = get_settings()

    async def action(database: Database) -> list[tuple[str, str, str]]:
        async with database.session() as session:
            try:
                selected = await resolve_selection(
                    session=session, selection=selection, default_regions=settings.default_regions
                )
                skipped = selected.skipped
            except NothingOfferedError as nothing:  # shown, then refused by certify_selection
                skipped = nothing.skipped
            except InvalidInputError:
                return []
            return [(s.deployment.deployment_id, s.region, s.reason) for s in skipped]

    skipped = run_checked(action)
    if not skipped:
        return
    say(f"⏭️  Skipped {len(skipped)} deployment × region pair(s), not certified:")
    for deployment_id, region, reason in skipped[:SKIPPED_SHOWN]:
        say(f"   {escape(deployment_id)} @ {region}: {escape(reason)}")
    if len(skipped) > SKIPPED_SHOWN:
        say(f"   … and {len(skipped) - SKIPPED_SHOWN} more")


# --- recertify -------------------------------------------------------------------------------
def parse_days(text: str) -> int:
    """`30d`, `30` or `2w` → days."""
    match = re.fullmatch(r"\s*(\d+)\s*([dw]?)\s*", text.lower())
    if not match or int(match.group(1)) < 1:
        raise fail(f"--older-than: expected a number of days such as 30d or 2w, got {text!r}")
    return int(match.group(1)) * (7 if match.group(2) == "w" else 1)


def describe_selection(selection: JobSelection) -> str:
    what = f"only {', '.join(selection.models)}" if selection.models else "every active model"
    if selection.recertify == "expired":
        what += ", expired certifications only"
    elif selection.recertify == "older_than":
        what += f", certifications older than {selection.older_than_days} days"
    return what


def print_recertify_plan(
    plan: Plan,
    selection: JobSelection,
    settings: Settings,
    *,
    delay: int,
    cleanup: bool,
    wait: bool = True,
) -> None:
    console.rule("🔄 RECERTIFICATION PLAN")
    mode = (
        f"sequential: 1 item at a time, {delay} ms between items"
        if delay
        else f"parallel: {settings.queue_concurrency} workers, paced per (provider, region) "
        "by the adaptive rate limiter"
    )
    existing = sum((d.id, r) in plan.existing for d, r in plan.pairs)
    say(f"   Selection:    {escape(describe_selection(selection))}")
    say(f"   Items:        {len(plan.pairs)} (deployment × region) over {plan.models} model(s)")
    say(f"   Regions:      {', '.join(plan.regions)}")
    say(
        f"   Cleanup:      delete the {existing} existing certification(s) first"
        if cleanup
        else "   Cleanup:      skipped (--skip-cleanup): results are updated in place"
    )
    say(f"   Mode:         {mode}")
    say(f"   Max retries:  {settings.queue_max_retries} per item")
    concurrency = 1 if delay else settings.queue_concurrency
    say(f"   Engine:       {engine_label(run_settings(settings, concurrency), wait=wait)}")
    say(f"   Estimate:     ~{duration(plan.estimate_s(concurrency, delay))}")
    say(f"   Cost:         {plan.cost_line()}")
    table = Table(title=f"📋 {len(plan.pairs)} item(s)", title_justify="left")
    for column in ("#", "deployment", "region", "current"):
        table.add_column(column, overflow="fold")
    for n, (deployment, region) in enumerate(plan.pairs, start=1):
        cert = plan.existing.get((deployment.id, region))
        now = f"{cert.status.value} {cert.badge or ''}".strip() if cert else "—"
        table.add_row(str(n), escape(deployment.deployment_id), region, now)
    console.print(table)


def confirm_or_exit(yes: bool, question: str) -> None:
    """--yes, or an interactive Y/n; without a terminal to ask on, refuse (exit 1)."""
    if yes:
        return
    if not is_interactive():
        raise fail(
            "not confirmed: re-run with --yes to start the recertification (nothing changed)"
        )
    if not typer.confirm(question, default=True):
        raise fail("cancelled: nothing was changed")


def recertify(
    yes: bool = typer.Option(False, "--yes", "-y", help="Start without asking."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan; change nothing."),
    delay: int = typer.Option(
        0,
        "--delay",
        min=0,
        help="Milliseconds to rest between items; > 0 also runs one item at a time. "
        "Rarely needed: the rate limiter already keeps each region under its quota.",
    ),
    max_retries: int | None = typer.Option(
        None, "--max-retries", min=0, help="Retries per item after the first attempt."
    ),
    only: str | None = typer.Option(None, "--only", help="Only these models: id1,id2,…"),
    skip_cleanup: bool = typer.Option(
        False, "--skip-cleanup", help="Keep the current certifications until replaced."
    ),
    expired: bool = typer.Option(False, "--expired", help="Only expired certifications."),
    older_than: str | None = typer.Option(
        None, "--older-than", help="Only certifications older than this, e.g. 30d."
    ),
    regions: str | None = typer.Option(None, "--regions", help="Only these regions: a,b."),
    log_dir: Path = typer.Option(DEFAULT_LOG_DIR, "--log-dir", help="Where the log goes."),
    no_wait: bool = typer.Option(False, "--no-wait", help="Create the job and return."),
    deep: bool = typer.Option(
        False, "--deep", help="Long tool-call battery: 52 prompts instead of 12."
    ),
    max_cost: float | None = MAX_COST,
    allow_unpriced: bool = ALLOW_UNPRICED,
) -> None:
    """Re-certify: clean the selected certifications, run them again, report and log."""
    if expired and older_than:
        raise fail("--expired and --older-than cannot be combined: choose one")
    days = parse_days(older_than) if older_than else None
    models = split_list(only)
    selection = build_selection(
        models=models,
        all=not models,
        recertify="expired" if expired else "older_than" if days else None,
        older_than_days=days,
        regions=split_list(regions),
        deep=deep,
        max_cost=max_cost,
        allow_unpriced=allow_unpriced,
    )
    settings = get_settings()
    if max_retries is not None:
        settings = settings.model_copy(update={"queue_max_retries": max_retries})
    quiet_logging(settings)
    plan = run_checked(lambda database: _plan_or_nothing(database, settings, selection))
    if plan is None:
        say("✅ Nothing to recertify: no certification matches the selection.")
        return
    # Under a cap an item may be left uncertified for budget: it keeps its last certification
    # rather than losing it to a cleanup made before anyone knew.
    cleanup = not skip_cleanup and max_cost is None
    if max_cost is not None and not skip_cleanup:
        say("💰 --max-cost: current certifications are kept until replaced (no cleanup)")
    print_recertify_plan(plan, selection, settings, delay=delay, cleanup=cleanup, wait=not no_wait)
    if dry_run:
        say("🔍 Dry run: nothing was changed (no job, no cleanup, no log file).")
        return
    confirm_or_exit(yes, f"Recertify these {len(plan.pairs)} item(s)?")
    _run(
        settings,
        selection,
        delay=delay,
        cleanup=cleanup,
        log_dir=log_dir,
        wait=not no_wait,
    )


async def _plan_or_nothing(
    database: Database, settings: Settings, selection: JobSelection
) -> Plan | None:
    try:
        return await make_plan(database, settings, selection)
    except InvalidInputError as exc:
        if exc.field == "selection" and selection.recertify:
            return None
        raise


def _run(
    settings: Settings,
    selection: JobSelection,
    *,
    delay: int,
    cleanup: bool,
    log_dir: Path,
    wait: bool,
) -> None:
    config: dict[str, object] = {"command": "recertify", "delay_ms": delay, "cleanup": cleanup}
    config["max_retries"] = settings.queue_max_retries
    request = RunRequest(
        selection,
        wait=wait,
        job_type=CertificationJobType.RECERTIFY,
        config=config,
        cleanup=cleanup,
        concurrency=1 if delay else None,
    )
    started = datetime.now(UTC).astimezone()
    outcome = run_checked(lambda database: create_and_follow(database, settings, request))
    if outcome.follow is None:
        say(f"📨 Job {outcome.job_id} queued; follow it with: myia jobs show {outcome.job_id}")
        return
    result = outcome.follow
    summary = RunSummary(result.items, result.elapsed_s)
    log_settings: dict[str, object] = {
        "job": outcome.job_id,
        "database": mask_url(settings.database_url),
        "engine": outcome.engine,
        "selection": describe_selection(selection),
        "regions": ", ".join(selection.regions) or ", ".join(settings.default_regions),
        "delay_ms": delay,
        "concurrency": 1 if delay else settings.queue_concurrency,
        "max_retries": settings.queue_max_retries,
        "cleanup": f"{outcome.cleaned} certification(s) deleted" if cleanup else "skipped",
        "final_job_status": result.status.value,
    }
    finished = datetime.now(UTC).astimezone()
    log = write_log(
        log_dir / log_file_name(started),
        settings=log_settings,
        summary=summary,
        started=started,
        finished=finished,
    )
    for line in [*recertify_report(summary, log), *spend_lines(result.items, result.max_cost_usd)]:
        say(line)
    if result.status is JobStatus.PAUSED:
        say(resume_hint(outcome.job_id))
        raise typer.Exit(EXIT_INTERRUPTED if result.interrupted else 0)
    if result.status is not JobStatus.COMPLETED:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(certify)
    app.command()(recertify)
