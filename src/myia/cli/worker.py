"""`myia worker`: run certification work items from the distributed queue (QUEUE_URL)."""

from __future__ import annotations

import asyncio

import typer
from rich.markup import escape

from myia.cli.console import fail
from myia.config import InsecureSettingsError, get_settings


def worker(
    concurrency: int | None = typer.Option(
        None, min=1, max=200, help="Items run at once (default QUEUE_CONCURRENCY, 5)."
    ),
    health_port: int | None = typer.Option(
        None, help="Serve GET /health on this port (default WORKER_HEALTH_PORT; unset: none)."
    ),
    health_host: str = typer.Option("127.0.0.1", help="Interface of the health endpoint."),
) -> None:
    """Run an SAQ worker: certify the items queued on QUEUE_URL until SIGTERM/Ctrl-C.

    Start as many as you like, on any machine sharing DATABASE_URL and QUEUE_URL.
    """
    from myia.observability.logging import configure_logging
    from myia.queue.saq_engine import QueueUrlError, make_queue
    from myia.queue.worker import run_worker

    settings = get_settings()
    if not settings.queue_url:
        raise fail(
            "`myia worker` needs QUEUE_URL (e.g. QUEUE_URL=redis://127.0.0.1:6379/0). Without "
            "it the embedded queue runs inside `myia serve` and no worker is needed."
        )
    try:
        settings.check_secrets()  # the worker decrypts users' provider credentials
        make_queue(settings)
    except (InsecureSettingsError, QueueUrlError) as exc:
        raise fail(escape(str(exc))) from exc
    configure_logging(settings.log_level)
    try:
        asyncio.run(run_worker(settings, concurrency=concurrency, health_port=health_port,
                               health_host=health_host))  # fmt: skip
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # Redis or the database unreachable at start, typically
        raise fail(escape(f"the worker stopped: {type(exc).__name__}: {exc}")) from exc


def register(app: typer.Typer) -> None:
    app.command()(worker)
