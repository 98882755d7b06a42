"""`myia serve`: the API with, by default, the embedded queue workers."""

from __future__ import annotations

import typer

from myia.cli.console import fail
from myia.config import InsecureSettingsError, get_settings

# Above the idle timeouts of common proxies and load balancers (nginx 75 s, AWS ALB 60 s), so
# the server is never the side that closes an idle connection a client is about to reuse.
KEEP_ALIVE_S = 75


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Start the app: the API and, without QUEUE_URL, the embedded queue workers."""
    import uvicorn

    from myia.api.app import create_app
    from myia.cli.db import run_on_database
    from myia.maintenance.schema import require_schema
    from myia.queue.saq_engine import QueueUrlError

    try:
        application = create_app(get_settings())
    except (InsecureSettingsError, QueueUrlError) as exc:
        raise fail(str(exc)) from exc
    # Before uvicorn: a database that is down or not migrated is one line and exit 1 here,
    # instead of a traceback from the app's start-up (the queue's first heartbeat).
    run_on_database(require_schema)
    from myia.maintenance.prune import PruneSchedule, RetentionSettings
    from myia.observability.alerts import AlertWatch

    # Retention runs once a day in the serving process (RETENTION_INTERVAL_S=0 turns it off);
    # the alerts are evaluated every minute (gauges on /metrics, WARNING records).
    schedule = PruneSchedule(get_settings().database_url, RetentionSettings()).start()
    watch = AlertWatch(get_settings()).start()
    try:
        # Keep-alive longer than uvicorn's 5 s: a client (or proxy) reusing a connection the
        # server is closing at that moment gets a ReadError on a request it just sent.
        # uvloop and httptools come with uvicorn[standard] ("auto" picks them); the request
        # middleware writes the access log, so uvicorn's own is off rather than filtered.
        uvicorn.run(
            application,
            host=host,
            port=port,
            log_config=None,
            timeout_keep_alive=KEEP_ALIVE_S,
            access_log=False,
        )
    finally:
        watch.stop()
        schedule.stop()


def register(app: typer.Typer) -> None:
    app.command()(serve)
