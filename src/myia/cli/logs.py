"""`myia logs`: read the `logs` table (what the app wrote with LOG_TO_DB on), filtered by
level, time, logger and request id; `--follow` polls for new lines until Ctrl-C."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from datetime import datetime

import typer
from rich.markup import escape

from myia.cli.console import console, fail
from myia.cli.db import run_on_database
from myia.db.engine import Database
from myia.db.types import utcnow
from myia.errors import InvalidInputError
from myia.observability.log_queries import (
    DEFAULT_LIMIT,
    FOLLOW_OVERLAP,
    MAX_LIMIT,
    LogFilter,
    LogLine,
    logs_from,
    make_filter,
    query_logs,
)

_COLOURS = {"debug": "dim", "info": "cyan", "warning": "yellow", "error": "red", "critical": "red"}
MIN_POLL_S = 0.2
MAX_POLL_S = 60.0
_SEEN = 10_000  # ids remembered by --follow to skip the overlap it re-reads


def _print(line: LogLine, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(line.to_dict(), default=str))
        return
    colour = _COLOURS.get(line.level, "white")
    rest = [
        line.logger or "-",
        f"request_id={line.request_id}" if line.request_id else "",
        line.message,
        " ".join(f"{k}={v}" for k, v in line.metadata.items()),
        f"error={line.error}" if line.error else "",
    ]
    stamp = line.timestamp.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    text = escape(" ".join(part for part in rest if part))
    console.print(f"{stamp} [{colour}]{line.level.upper():8}[/{colour}] {text}", soft_wrap=True)


async def _follow(
    database: Database,
    filters: LogFilter,
    start: datetime,
    printed: list[str],
    poll_s: float,
    as_json: bool,
) -> None:
    seen: deque[str] = deque(printed[-_SEEN:], maxlen=_SEEN)
    known: set[str] = set(seen)
    while True:
        async with database.read_session() as session:
            lines = await logs_from(session=session, filters=filters, start=start)
        fresh = 0
        for line in lines:
            if line.id in known:
                continue
            if len(seen) == seen.maxlen:
                known.discard(seen[0])
            seen.append(line.id)
            known.add(line.id)
            fresh += 1
            _print(line, as_json)
        if lines:
            start = max(start, lines[-1].timestamp - FOLLOW_OVERLAP)
        if not fresh or len(lines) < MAX_LIMIT:  # caught up: wait for more
            await asyncio.sleep(poll_s)


def logs(
    level: str = typer.Option(
        "", "--level", help="Minimum level: debug, info, warning, error, critical."
    ),
    since: str = typer.Option(
        "", "--since", help="How far back: a duration (30s, 15m, 2h, 7d, 1w) or an ISO time."
    ),
    logger: str = typer.Option(
        "", "--logger", help="A logger and its children, e.g. myia.gateway."
    ),
    request_id: str = typer.Option(
        "", "--request-id", help="The lines of one request (the X-Request-ID of its answer)."
    ),
    limit: int = typer.Option(
        DEFAULT_LIMIT, "--limit", min=1, max=MAX_LIMIT, help=f"Lines to show, 1-{MAX_LIMIT}."
    ),
    follow: bool = typer.Option(
        False, "--follow", "-f", help="Keep polling for new lines until Ctrl-C."
    ),
    poll: float = typer.Option(
        1.0, "--poll", min=MIN_POLL_S, max=MAX_POLL_S, help="Seconds between polls (--follow)."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Read the application logs stored in the database (LOG_TO_DB), newest last."""
    try:
        filters = make_filter(level=level, since=since, logger=logger, request_id=request_id)
    except InvalidInputError as exc:
        raise fail(escape(str(exc))) from exc

    async def action(database: Database) -> None:
        async with database.read_session() as session:
            page = await query_logs(session=session, filters=filters, limit=limit)
        lines = list(reversed(page.lines))  # oldest first, as a log reads
        for line in lines:
            _print(line, as_json)
        if not lines and not follow and not as_json:
            console.print("[dim]no log lines match (is LOG_TO_DB on for the server?)[/dim]")
        if follow:
            start = lines[-1].timestamp - FOLLOW_OVERLAP if lines else utcnow() - FOLLOW_OVERLAP
            follower = LogFilter(filters.level, None, filters.logger, filters.request_id)
            printed = [line.id for line in lines]
            await _follow(database, follower, start, printed, poll, as_json)

    try:
        run_on_database(action)
    except KeyboardInterrupt:
        return


def register(app: typer.Typer) -> None:
    app.command()(logs)
