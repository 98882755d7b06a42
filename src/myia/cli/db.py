"""`myia db`: diagnose, migrate, seed, backup, restore, reset.

Thin: each command opens the configured database, calls one service of myia.maintenance
and prints its result. Errors become one red line and exit status 1, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from myia.cli.console import console, fail, is_interactive
from myia.config import get_settings
from myia.db.engine import Database
from myia.errors import MyIAError
from myia.maintenance.backup import backup_database, check_restore, restore_database
from myia.maintenance.connection import (
    DatabaseUnavailableError,
    check_connection,
    describe_error,
    mask_url,
    open_database,
)
from myia.maintenance.diagnose import DiagnosisReport
from myia.maintenance.diagnose import diagnose as diagnose_database
from myia.maintenance.reset import plan_reset, reset_database
from myia.maintenance.schema import migrate_database, require_schema
from myia.maintenance.seed import SeedReport, seed_database
from myia.telemetry.hook import call_logging

T = TypeVar("T")

app = typer.Typer(
    help="Database: diagnose, migrate, seed, backup, restore, reset, prune.",
    no_args_is_help=True,
)


def _open() -> Database:
    try:
        return open_database(get_settings().database_url)
    except DatabaseUnavailableError as exc:
        raise fail(escape(str(exc))) from exc


def run_on_database(
    action: Callable[[Database], Awaitable[T]],
    *,
    database: Database | None = None,
    connect_first: bool = True,
) -> T:
    """Run one async service against the configured database and dispose of it after."""
    database = database or _open()

    async def main() -> T:
        try:
            if connect_first:
                await check_connection(database)
            async with call_logging(database):  # provider calls into api_call_logs
                return await action(database)
        finally:
            await database.dispose()

    try:
        return asyncio.run(main())
    except MyIAError as exc:
        raise fail(escape(str(exc))) from exc


def _confirm(yes: bool, question: str, action: str) -> None:
    """Go ahead with --yes or an interactive "yes"; refuse when nobody can be asked."""
    if yes:
        return
    if not is_interactive():
        raise fail(
            f"refusing to {action} without --yes: stdin is not a terminal to confirm on "
            "(nothing was changed)"
        )
    if not typer.confirm(question, default=False):
        raise fail("cancelled: nothing was changed")


def say(text: str) -> None:
    """One line, never re-wrapped: piped output stays one greppable line per fact."""
    console.print(text, soft_wrap=True)


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - loop always returns


# --- diagnose ----------------------------------------------------------------------------
def _print_tables(report: DiagnosisReport) -> None:
    found, expected = len(report.found_tables), len(report.expected_tables)
    colour = "green" if found == expected else "yellow"
    say(f"\n🔍 Schema: [{colour}]{found}/{expected}[/{colour}] tables of schema v2")
    if report.missing_tables:
        say("[yellow]⚠️  Missing tables:[/yellow]")
        for name in report.missing_tables:
            say(f"   - {name}")
    if report.extra_tables:
        say(f"ℹ️  Other tables: {', '.join(report.extra_tables)}")
    mark = "[green]✅[/green]" if report.at_head else "[yellow]⚠️ [/yellow]"
    say(
        f"{mark} Alembic revision: {report.current_revision or 'none'} "
        f"(head: {report.head_revision})"
    )
    if not report.row_counts:
        return
    table = Table(title="📋 Rows per table", title_justify="left")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in report.row_counts.items():
        style = "yellow" if rows == 0 else "green"
        table.add_row(name, f"[{style}]{rows}[/{style}]")
    console.print(table)
    if report.empty_tables:
        say(
            f"[yellow]⚠️  Empty tables ({len(report.empty_tables)}):[/yellow] "
            + ", ".join(report.empty_tables)
        )


def _print_diagnosis(report: DiagnosisReport) -> None:
    console.rule("🔍 DATABASE DIAGNOSIS")
    say(f"Database: {escape(report.url)} ({report.backend})")
    if report.note:
        say(f"ℹ️  {escape(report.note)}")
    say("[green]✅ Connection OK[/green]")
    _print_tables(report)
    console.rule("💡 RECOMMENDATIONS")
    for number, item in enumerate(report.recommendations, start=1):
        tag = " [bold](required)[/bold]" if item.required else ""
        say(f"{number}. {escape(item.title)}{tag}")
        say(f"   Command: [cyan]{escape(item.command)}[/cyan]")
        say(f"   {escape(item.detail)}")
    say(f"\n📌 Summary: {escape(report.summary)}")


@app.command()
def diagnose(
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable report."),
) -> None:
    """Connection, tables found x/N, Alembic revision, rows per table, what to run next."""
    report = run_on_database(
        lambda database: diagnose_database(database=database), connect_first=False
    )
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    elif report.connected:
        _print_diagnosis(report)
    if not report.connected:
        if as_json:
            raise typer.Exit(1)
        raise fail(escape(report.error or "cannot connect to the database"))


# --- migrate -----------------------------------------------------------------------------
@app.command()
def migrate(revision: str = typer.Option("head", help="Target Alembic revision.")) -> None:
    """Apply the migrations up to REVISION (default: head)."""

    async def action(database: Database) -> tuple[str | None, str | None]:
        try:
            return await migrate_database(database=database, revision=revision)
        except MyIAError:
            raise
        except Exception as exc:  # Alembic/driver errors: one readable line, no traceback
            raise MyIAError(f"migration failed: {describe_error(exc, database.url)}") from exc

    before, after = run_on_database(action)
    say(f"Revision before: {before or 'none (no schema yet)'}")
    say(f"Revision after:  {after or 'none'}")
    if before == after:
        say(f"[green]✓[/green] already at {after}; nothing to do")
    else:
        say(f"[green]✓[/green] database migrated to {after}")


# --- seed --------------------------------------------------------------------------------
def print_seed_report(report: SeedReport) -> None:
    say("🌱 Providers and models...")
    for provider in report.providers:
        state = "" if provider.created else ", already present"
        say(
            f"[green]✅[/green] {escape(provider.name)} OK "
            f"(ID: {provider.id}, models: {provider.models}{state})"
        )
    if report.demo:
        say("👤 Demo users...")
        for user in report.users:
            state = "" if user.created else ", already present"
            say(f"[green]✅[/green] User {user.email} OK (ID: {user.id}, role: {user.role}{state})")
        created = report.created
        say("💬 Chats + messages + sent_context...")
        say(
            f"[green]✅[/green] Chats + messages + traces OK ({created['chats']} "
            f"chats, {created['messages']} messages, {created['api_call_logs']} API "
            f"call logs added; {report.chats_skipped} chats already present)"
        )
    else:
        say("ℹ️  No demo users: `myia db seed --demo` adds leo@leo.com and an admin")
    added = ", ".join(f"{table} {count}" for table, count in report.created.items() if count)
    if report.total_created:
        say(f"🎉 Seed finished: {report.total_created} rows added ({added})")
    else:
        say("🎉 Seed finished: nothing to add, everything was already there")


async def _seed(database: Database, demo: bool) -> SeedReport:
    await require_schema(database)
    async with database.session() as session:
        return await seed_database(session=session, demo=demo)


@app.command()
def seed(
    demo: bool = typer.Option(False, "--demo", help="Also demo users, chats and call logs."),
) -> None:
    """Providers and the six basic models (idempotent); with --demo, demo users and chats."""
    database = _open()
    say(f"🌱 Starting the MyIA seed ({'catalog + demo data' if demo else 'catalog'})...")
    print_seed_report(run_on_database(lambda db: _seed(db, demo), database=database))


# --- backup / restore / reset -----------------------------------------------------------
@app.command()
def backup(
    output: str | None = typer.Option(
        None,
        "--output",
        "-o",
        help="File, or directory (existing, or ending in /); default BACKUP_DIR (var/backups).",
    ),
) -> None:
    """Back up the database: pg_dump for PostgreSQL, the SQLite backup API for SQLite."""
    backup_dir, target = get_settings().backup_dir, None
    if output and (output.endswith(("/", os.sep)) or Path(output).is_dir()):
        backup_dir = Path(output)  # a directory: the file gets the usual timestamped name
    elif output:
        target = Path(output)
    result = run_on_database(
        lambda database: backup_database(database=database, backup_dir=backup_dir, output=target)
    )
    say(
        f"[green]✅[/green] Backup of {escape(result.database)} written to "
        f"{result.path} ({_size(result.size_bytes)})"
    )


@app.command()
def restore(
    path: Path = typer.Argument(..., help="A backup made by `myia db backup`."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would happen; change nothing."),
) -> None:
    """Replace the database's content with a backup (asks first unless --yes)."""
    database = _open()
    try:
        check_restore(database, path)
    except MyIAError as exc:
        raise fail(escape(str(exc))) from exc
    target = mask_url(database.url)
    if dry_run:
        say(f"Would restore {path} into {escape(target)}, replacing its data.")
        say("Dry run: nothing was changed.")
        return
    _confirm(yes, f"Restore {path} into {target}? The current data will be replaced.", "restore")
    run_on_database(lambda db: restore_database(database=db, path=path), database=database)
    say(f"[green]✅[/green] Restored {path} into {escape(target)}")


@app.command()
def reset(
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would happen; change nothing."),
) -> None:
    """Clean slate: back up first, drop every table, migrate to an empty schema."""
    backup_dir = get_settings().backup_dir
    plan = run_on_database(lambda db: plan_reset(database=db, backup_dir=backup_dir))
    say(f"Database: {escape(plan.url)} ({plan.backend})")
    say(f"1. back up to {plan.backup_path}")
    say(
        f"2. drop {len(plan.tables)} table(s)"
        + (f": {', '.join(plan.tables)}" if plan.tables else "")
    )
    say(f"3. migrate to {plan.head} (empty schema)")
    if dry_run:
        say("Dry run: nothing was changed.")
        return
    _confirm(
        yes, "Reset the database? Every table and all data will be dropped.", "reset the database"
    )
    result = run_on_database(lambda db: reset_database(database=db, backup_dir=backup_dir))
    say(f"💾 Backup written to {result.backup.path} ({_size(result.backup.size_bytes)})")
    how = "alembic downgrade base" if result.downgraded else "direct drop (downgrade failed)"
    say(
        f"🧹 Tables dropped ({how}"
        + (f"; leftovers: {', '.join(result.leftovers)})" if result.leftovers else ")")
    )
    say(
        f"[green]✅[/green] Database reset: empty schema at {result.revision_after}. "
        "Next: `myia db seed`"
    )


# --- prune -------------------------------------------------------------------------------
@app.command()
def prune(
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would happen; change nothing."),
) -> None:
    """Delete old logs, API call logs, metrics and finished jobs (RETENTION_* settings)."""
    from myia.maintenance.prune import RetentionSettings, prune_database

    retention = RetentionSettings()

    def run(really: bool) -> None:
        report = run_on_database(
            lambda db: prune_database(database=db, retention=retention, dry_run=not really)
        )
        verb = "deleted" if really else "to delete"
        for table, (days, rows) in report.tables.items():
            say(f"🧹 {table}: {rows} row(s) {verb} (older than {days} days)")
        if not really and not report.total:
            say("Nothing to prune.")

    run(False)
    if dry_run:
        say("Dry run: nothing was changed.")
        return
    _confirm(yes, "Delete these rows?", "prune the database")
    run(True)
    say("[green]✅[/green] Prune finished")
