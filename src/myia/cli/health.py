"""`myia health`: the database, the workers and the queue from the command line; with
`--alerts`, seed 004's alerts, exiting 1 when one fires (for cron or a monitoring agent)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import typer
from rich.markup import escape

from myia.cli.console import fail
from myia.cli.db import run_on_database, say
from myia.config import get_settings
from myia.db.engine import Database
from myia.metrics.rollup import latest_rollup
from myia.observability.alerts import Alert, evaluate_alerts, publish
from myia.observability.health import health_report


def health(
    alerts: bool = typer.Option(
        False, "--alerts", help="Also evaluate the alerts; exit 1 when one fires."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Health of the database, queue and workers; with --alerts, exit 1 when an alert fires."""
    settings = get_settings()

    async def action(
        database: Database,
    ) -> tuple[dict[str, Any], list[Alert], dict[str, Any] | None]:
        report = await health_report(database)
        found = await evaluate_alerts(database=database, settings=settings) if alerts else []
        rollup = None
        with contextlib.suppress(Exception):  # a database that is down is the report's to say
            async with database.read_session() as session:
                rollup = await latest_rollup(session=session)
        return report, found, rollup

    report, found, rollup = run_on_database(action, connect_first=False)
    if alerts:
        publish(found)  # the WARNING records: a cron run leaves a trace in the logs too
    firing = [a for a in found if a.firing]
    if as_json:
        payload = {**report, "alerts": [a.to_dict() for a in found]} if alerts else report
        payload = {**payload, "metrics_rollup": rollup}
        typer.echo(json.dumps(payload, indent=2, default=str))
    else:
        for name, value in report.items():
            if name == "status":
                continue
            state = value.get("status", "?") if isinstance(value, dict) else value
            mark = "[green]✅[/green]" if state == "up" else "[red]❌[/red]"
            say(f"{mark} {name}: {state}")
        if rollup is None:
            say("📈 metrics rollup: none yet (written by `myia serve`, METRICS_ROLLUP_INTERVAL_S)")
        else:
            say(
                f"📈 metrics rollup of {rollup['at']:%Y-%m-%d %H:%M:%S} UTC: "
                f"{rollup.get('requests', 0)} provider call(s) on {rollup['deployments']} "
                f"deployment(s), {rollup.get('certification_queue', 0)} item(s) queued"
            )
        for alert in found:
            mark = "[red]🚨 FIRING[/red]" if alert.firing else "[green]✅ ok[/green]"
            say(f"{mark} {alert.name}: {escape(alert.message)}")
            if alert.firing:
                say(f"   → {escape(alert.action)}")
    if report.get("status") != "healthy":
        raise fail(
            "unhealthy: "
            + ", ".join(
                k
                for k, v in report.items()
                if k != "status" and isinstance(v, dict) and v.get("status") != "up"
            )
        )
    if firing:
        raise fail(f"{len(firing)} alert(s) firing: {', '.join(a.name for a in firing)}")


def register(app: typer.Typer) -> None:
    app.command()(health)
