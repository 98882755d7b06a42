"""`myia catalog`: the catalog out to a YAML file and back in (docs/catalog.md).

`export` writes providers, base models, deployments and their prices with sources, by natural
key, sorted, so the same catalog always gives the same bytes. `import` validates the whole file
before writing anything, upserts in one transaction, is idempotent, and with `--dry-run` only
prints the diff; `--prune` also deletes the deployments and base models the file lacks, after
listing them and asking (`--yes` without a terminal).
"""

from __future__ import annotations

import contextlib
import enum
import os
import tempfile
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from myia.catalog.transfer import ImportReport, import_catalog
from myia.catalog.transfer_export import ExportResult, export_catalog
from myia.catalog.transfer_plan import EntryChange
from myia.catalog.transfer_schema import MAX_FILE_BYTES, SECTIONS, CatalogFileError
from myia.cli.confirm import DRY_RUN_HELP, YES_HELP, confirm_or_exit
from myia.cli.console import err_console, fail
from myia.cli.db import run_on_database, say
from myia.cli.models import catalog_cache
from myia.db.engine import Database

app = typer.Typer(
    help="Catalog: export it to a YAML file, import one (diff, dry run, prune).",
    no_args_is_help=True,
)

# Entries listed per action; the counts below the list are always complete.
MAX_LISTED = 200
_MARKS = {"create": "[green]+[/green]", "update": "[yellow]~[/yellow]", "delete": "[red]-[/red]"}


def _show(value: Any) -> str:
    if value is None:
        text = "null"
    elif isinstance(value, enum.Enum):
        text = str(value.value)
    elif isinstance(value, str):
        text = repr(value)
    else:
        text = str(value)
    return escape(text if len(text) <= 80 else text[:79] + "…")


def _write_atomically(path: Path, text: str) -> None:
    """A reader never sees half a file, and a failed write leaves the old one."""
    handle, temporary = tempfile.mkstemp(dir=path.parent or Path("."), prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@app.command("export")
def export_command(
    file: Path | None = typer.Argument(
        None, help="Write to this file (default: standard output); the same as -o."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file (default: standard output)."
    ),
) -> None:
    """Write the catalog to a YAML file: providers, models, deployments, prices, sources."""
    if file is not None and output is not None and file != output:
        raise fail("give the file once: as an argument or with -o, not both")
    output = output or file

    async def action(database: Database) -> ExportResult:
        async with database.read_session() as session:
            return await export_catalog(session=session)

    result = run_on_database(action)
    for item in result.left_out:
        err_console.print(f"[yellow]⚠[/yellow] left out (looks secret): {escape(item)}")
    counts = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in result.counts.items())
    if output is None:
        typer.echo(result.text, nl=False)
        err_console.print(f"Exported {counts}.", soft_wrap=True)
        return
    try:
        _write_atomically(output, result.text)
    except OSError as exc:
        raise fail(
            f"cannot write {escape(str(output))}: {escape(exc.strerror or str(exc))}"
        ) from None
    say(f"✅ Exported {counts} to {escape(str(output))}")


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise fail(f"cannot read {escape(str(path))}: {escape(exc.strerror or str(exc))}") from None
    if len(data) > MAX_FILE_BYTES:
        raise fail(
            f"{escape(str(path))} is larger than {MAX_FILE_BYTES} bytes, the limit of a "
            "catalog file (nothing was changed)"
        )
    return data


def _print_entries(report: ImportReport) -> None:
    for action in ("create", "update", "delete"):
        entries: list[EntryChange] = [e for e in report.entries if e.action == action]
        for entry in entries[:MAX_LISTED]:
            line = f"{_MARKS[action]} {entry.section} {escape(entry.key)}"
            if entry.changes:
                line += ": " + "; ".join(
                    f"{escape(c.name)}: {_show(c.old)} → {_show(c.new)}" for c in entry.changes
                )
            say(line)
        if len(entries) > MAX_LISTED:
            say(f"  … and {len(entries) - MAX_LISTED} more to {action}")


def _print_summary(report: ImportReport, *, prune: bool) -> None:
    for section in SECTIONS:
        parts = [
            f"{report.count(section, 'create')} created",
            f"{report.count(section, 'update')} updated",
            f"{report.unchanged[section]} unchanged",
        ]
        if prune and section != "providers":
            parts.append(f"{report.count(section, 'delete')} deleted")
        if report.kept[section]:
            parts.append(f"{report.kept[section]} not in the file (kept)")
        say(f"{section}: {', '.join(parts)}")
    changes = f"{report.changes} change" + ("" if report.changes == 1 else "s")
    if report.dry_run:
        say(f"Dry run: {changes}; nothing was written.")
    elif report.changes:
        say(f"[green]✅[/green] {changes} written.")
    else:
        say("0 changes: the catalog already matches the file.")


def _run_import(data: bytes, *, dry_run: bool, prune: bool) -> ImportReport:
    async def action(database: Database) -> ImportReport | CatalogFileError:
        async with database.session() as session, catalog_cache() as cache:
            try:
                return await import_catalog(
                    session=session,
                    cache=cache,
                    text=data,
                    dry_run=dry_run,
                    prune=prune,
                    changed_by="myia catalog import",
                )
            except CatalogFileError as exc:
                return exc

    result = run_on_database(action)
    if isinstance(result, CatalogFileError):
        for problem in result.problems[:MAX_LISTED]:
            err_console.print(f"[red]✗[/red] {escape(problem)}", soft_wrap=True)
        count = len(result.problems)
        noun = "problem" if count == 1 else "problems"
        raise fail(f"{count} {noun} in the file: nothing was changed")
    return result


@app.command("import")
def import_command(
    path: Path = typer.Argument(..., help="The catalog file (YAML, as `myia catalog export`)."),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    prune: bool = typer.Option(
        False,
        "--prune",
        help="Also delete deployments and base models the file lacks (asks first).",
    ),
    yes: bool = typer.Option(False, "--yes", help=YES_HELP),
) -> None:
    """Upsert a catalog file by natural key in one transaction; --dry-run prints the diff."""
    data = _read(path)
    if prune and not dry_run and not yes:
        plan = _run_import(data, dry_run=True, prune=True)
        doomed = [e for e in plan.entries if e.action == "delete"]
        if doomed:
            say(f"--prune deletes {len(doomed)} rows the file does not name:")
            for entry in doomed[:MAX_LISTED]:
                say(f"{_MARKS['delete']} {entry.section} {escape(entry.key)}")
            if len(doomed) > MAX_LISTED:
                say(f"  … and {len(doomed) - MAX_LISTED} more")
            confirm_or_exit(
                yes=yes,
                question=f"Delete these {len(doomed)} rows (certifications go with them)?",
                action="prune the catalog",
            )
    report = _run_import(data, dry_run=dry_run, prune=prune)
    _print_entries(report)
    _print_summary(report, prune=prune)
