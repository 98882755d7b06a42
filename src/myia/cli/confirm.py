"""The one confirmation rule of destructive commands: `--yes`, or a "yes" typed on a terminal.

Without a terminal (cron, CI, a pipe) and without `--yes`, the command refuses and changes
nothing, rather than hang on a prompt nobody sees. `--dry-run` is each command's own: it
prints what would change and returns before asking.
"""

from __future__ import annotations

import typer

from myia.cli.console import fail, is_interactive

YES_HELP = "Do not ask for confirmation (needed without a terminal, e.g. from cron)."
DRY_RUN_HELP = "Say what would change; change nothing."


def confirm_or_exit(*, yes: bool, question: str, action: str) -> None:
    if yes:
        return
    if not is_interactive():
        raise fail(
            f"refusing to {action} without --yes: stdin is not a terminal to confirm on "
            "(nothing was changed)"
        )
    if not typer.confirm(question, default=False):
        raise fail("cancelled: nothing was changed")
