"""One line on stderr and exit status 1 for any error a command did not handle itself.

An operator whose database is missing, down or unmigrated needs the reason and the next
step, not a traceback of SQLAlchemy internals (MYIA_DEBUG=1 shows the traceback).
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from myia.errors import MyIAError
from myia.observability.redaction import redact_text

_FRAMEWORK = ("typer", "click")
_UNMIGRATED = ("no such table", "undefinedtable", "does not exist")
_REFUSED = ("connection refused", "connect call failed", "could not connect", "timed out")


def _reason(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    text = (str(original).strip() or type(original).__name__).splitlines()[0]
    if text.startswith("(") and ") " in text:  # "(sqlalchemy…Error) real message"
        text = text.split(") ", 1)[1]
    return text


def one_line(exc: BaseException) -> str:
    """What went wrong and what to do, in one line, without secrets."""
    reason = _reason(exc)
    lowered = f"{type(getattr(exc, 'orig', exc)).__name__} {reason}".lower()
    if isinstance(exc, MyIAError):
        message = reason
    elif isinstance(exc, NotADirectoryError | FileExistsError) or "not a directory" in lowered:
        message = "the database path is under a file, not a directory: fix DATABASE_URL"
    elif "unable to open database file" in lowered:
        message = (
            "cannot open the SQLite database file (its directory may not exist): "
            "fix DATABASE_URL or run `myia db migrate`"
        )
    elif any(marker in lowered for marker in _UNMIGRATED) and "database" not in reason[:9]:
        message = f"the database has no MyIA schema ({reason}): run `myia db migrate`"
    elif isinstance(exc, ConnectionError | TimeoutError) or any(m in lowered for m in _REFUSED):
        message = (
            f"cannot connect to the database: {reason} "
            "(check DATABASE_URL and that PostgreSQL is running)"
        )
    elif isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EROFS, errno.ENOSPC):
        message = f"{exc.strerror}: {exc.filename}"
    else:
        message = f"{type(exc).__name__}: {reason}"
    return "error: " + redact_text(" ".join(message.split()))


class OneLineErrors(TyperGroup):
    """Mixed into the root command group: every subcommand's unhandled error becomes one line."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click Context
        try:
            return super().invoke(ctx)
        except Exception as exc:
            # Exit, Abort and usage errors are the CLI framework's own answers: keep them. A
            # failed assertion is a bug (or a test's safety net), not a setup problem.
            framework = type(exc).__module__.startswith(_FRAMEWORK)
            if os.environ.get("MYIA_DEBUG") or framework or isinstance(exc, AssertionError):
                raise
            typer.echo(one_line(exc), err=True)
            sys.exit(1)
