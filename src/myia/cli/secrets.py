"""`myia secrets rotate`: re-encrypt stored provider credentials under a new secret."""

from __future__ import annotations

import asyncio
import os

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from myia.cli.console import console, fail
from myia.config import get_settings
from myia.credentials.rotation import (
    RotationAbortedError,
    RotationReport,
    check_new_secret,
    rotate_credentials,
)
from myia.db.engine import Database
from myia.errors import InvalidInputError

app = typer.Typer(
    help="Secrets: rotate the key that encrypts provider credentials.", no_args_is_help=True
)


async def _rotate(url: str, current: str, new: str, dry_run: bool) -> RotationReport:
    database = Database(url)
    try:
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("checking" if dry_run else "re-encrypting", total=None)

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            async with database.session() as session:
                return await rotate_credentials(
                    session=session,
                    current_secret=current,
                    new_secret=new,
                    dry_run=dry_run,
                    progress=advance,
                )
    finally:
        await database.dispose()


@app.command()
def rotate(
    new_secret_env: str = typer.Option(
        "NEW_ENCRYPTION_SECRET",
        "--new-secret-env",
        help="Environment variable holding the new secret (never passed on the command line, "
        "so it stays out of the shell history).",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Check that every row decrypts and count them; change nothing."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Re-encrypt every stored credential from ENCRYPTION_SECRET to the new secret."""
    settings = get_settings()
    current = settings.encryption_secret
    if not current:
        raise fail("ENCRYPTION_SECRET is not set: it must hold the secret the rows are under now.")
    try:
        new = check_new_secret(
            current=current, new=os.environ.get(new_secret_env), variable=new_secret_env
        )
    except InvalidInputError as exc:
        raise fail(exc.message) from exc
    if not dry_run and not yes:
        typer.confirm(
            f"Re-encrypt every stored credential with the secret in {new_secret_env}? "
            "Keep that secret safe: without it the credentials are lost.",
            abort=True,
        )
    try:
        report = asyncio.run(_rotate(settings.database_url, current, new, dry_run))
    except RotationAbortedError as exc:
        raise fail(str(exc)) from exc
    if report.dry_run:
        console.print(
            f"[green]✓[/green] dry run: {report.reencrypted} of {report.total} credentials would "
            f"be re-encrypted ({report.already_new} already under the new secret); "
            "all decrypt. Nothing was changed."
        )
        return
    console.print(
        f"[green]✓[/green] re-encrypted {report.reencrypted} of {report.total} credentials "
        f"({report.already_new} already under the new secret)."
    )
    console.print(
        f"Next: set ENCRYPTION_SECRET to the value of {new_secret_env} and restart `myia serve` "
        "and the workers; until then they cannot read the stored credentials."
    )
