"""`myia serve`: the API with, by default, the embedded queue workers."""

from __future__ import annotations

import ipaddress
from typing import Any

import typer

from myia.cli.console import fail
from myia.config import InsecureSettingsError, Settings, get_settings

# Above the idle timeouts of common proxies and load balancers (nginx 75 s, AWS ALB 60 s), so
# the server is never the side that closes an idle connection a client is about to reuse.
KEEP_ALIVE_S = 75
ALLOW_PUBLIC_FLAG = "--allow-public-demo"
ALLOW_PUBLIC_ENV = "MYIA_ALLOW_PUBLIC_DEMO"


def allow_public_option() -> Any:
    """The flag, shared by `myia serve` and `myia demo` (a typer OptionInfo)."""
    return typer.Option(
        False,
        ALLOW_PUBLIC_FLAG,
        envvar=ALLOW_PUBLIC_ENV,
        help="In demo, dev or test mode, listen on a non-loopback address anyway. Their secrets "
        "and logins are public: only on a network that is yours alone.",
    )


def is_loopback_host(host: str) -> bool:
    """`localhost` or a loopback address: what only this machine can reach. `0.0.0.0`, `::`
    and "" bind every interface; any other name may resolve to a public address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_public_bind(host: str, settings: Settings, *, allowed: bool) -> None:
    """Demo, dev and test modes run on secrets anyone can read in this repository (the JWT
    and encryption secrets, the demo logins): a server in one of them listens on loopback
    unless the operator says otherwise, explicitly."""
    if not settings.is_lenient or allowed or is_loopback_host(host):
        return
    raise fail(
        f"refusing to listen on {host!r} in {settings.mode} mode: its secrets and demo logins "
        f"are public, anyone who reaches the port could sign in or forge a session. Use "
        f"--host 127.0.0.1, or pass {ALLOW_PUBLIC_FLAG} (or set {ALLOW_PUBLIC_ENV}=1) on a "
        "network that is yours alone."
    )


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, help="Port to listen on."),
    allow_public_demo: bool = allow_public_option(),
) -> None:
    """Start the app: the API and, without QUEUE_URL, the embedded queue workers."""
    import uvicorn

    from myia.api.app import create_app
    from myia.cli.db import run_on_database
    from myia.maintenance.schema import require_schema
    from myia.queue.saq_engine import QueueUrlError

    # `is True`: called as a function (by `myia demo`) without it, the default is typer's
    # OptionInfo, which is truthy.
    refuse_public_bind(host, get_settings(), allowed=allow_public_demo is True)
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
    from myia.api.server import BatchedWritesProtocol, settle_heap

    settle_heap()  # the app is built: its objects are out of the garbage collector's walks
    try:
        # Keep-alive longer than uvicorn's 5 s: a client (or proxy) reusing a connection the
        # server is closing at that moment gets a ReadError on a request it just sent.
        # uvloop comes with uvicorn[standard] ("auto" picks it); the HTTP protocol is
        # uvicorn's httptools one with the writes of a loop turn sent together
        # (myia.api.server). The request middleware writes the access log, so uvicorn's own
        # is off rather than filtered.
        uvicorn.run(
            application,
            host=host,
            port=port,
            log_config=None,
            timeout_keep_alive=KEEP_ALIVE_S,
            access_log=False,
            http=BatchedWritesProtocol,
        )
    finally:
        watch.stop()
        schedule.stop()


def register(app: typer.Typer) -> None:
    app.command()(serve)
