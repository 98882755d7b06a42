"""`myia demo`: the app on a local SQLite file, migrated and seeded with demo data, with the
provider simulator standing in for AWS Bedrock and the OpenAI-compatible providers.

Each step is its own function so the demo stays a list of steps, not a script: settings,
database, simulator (in-process, its own thread), providers pointed at it, discovery so the
catalog is full, banner, serve.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import typer
from rich.markup import escape

from myia.catalog.cache import CatalogCache
from myia.catalog.discovery import DiscoveryReport, discover_models
from myia.cli import serve as serve_cli
from myia.cli.console import console, fail
from myia.cli.db import print_seed_report, say
from myia.config import Settings, get_settings, reset_settings_cache
from myia.errors import MyIAError
from myia.maintenance.connection import check_connection, mask_url, open_database
from myia.maintenance.demo_certify import queue_first_certification
from myia.maintenance.demo_sim import (
    SimulatedProvider,
    point_providers_at_simulator,
    scenario_path,
    use_simulator_credentials,
)
from myia.maintenance.schema import migrate_database
from myia.maintenance.seed import SeedReport, seed_database
from myia.maintenance.seed_file import default_seed
from myia.observability.logging import configure_logging
from myia.providers.errors import ProviderError
from myia.sim import SimServer

DEMO_DATABASE_URL = "sqlite+aiosqlite:///var/demo.db"


def demo_settings() -> Settings:
    """Demo mode, on ./var/demo.db unless DATABASE_URL is set (environment or .env)."""
    # Through the environment, so that every later get_settings() (serve, the app) agrees.
    os.environ["MYIA_MODE"] = "demo"
    reset_settings_cache()
    if "database_url" not in get_settings().model_fields_set:
        os.environ["DATABASE_URL"] = DEMO_DATABASE_URL
        reset_settings_cache()
    return get_settings()


async def prepare_demo_database(settings: Settings) -> SeedReport:
    """Migrate to head and seed the catalog and the demo data (both idempotent)."""
    database = open_database(settings.database_url)
    try:
        await check_connection(database)
        await migrate_database(database=database)
        async with database.session() as session:
            return await seed_database(session=session, demo=True)
    finally:
        await database.dispose()


# uvicorn sets these process-wide from a server's log_level; the simulator's "warning" would
# otherwise silence the app server's own startup and shutdown lines.
_UVICORN_LOGGERS = ("uvicorn.error", "uvicorn.asgi")


def start_simulator(scenario: Path | None = None) -> SimServer:
    """The demo scenario (or `scenario`) on a free loopback port, served from its own thread."""
    levels = {name: logging.getLogger(name).level for name in _UVICORN_LOGGERS}
    sim = SimServer(scenario or scenario_path(), host="127.0.0.1", port=0).start()
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    return sim


async def connect_simulator(
    settings: Settings, sim: SimServer
) -> tuple[list[SimulatedProvider], list[DiscoveryReport]]:
    """Point the providers at `sim`, then discover its models so the catalog is full.

    Bedrock is discovered in every region of the scenario; discovery is idempotent, so a
    restart only rewires the providers to the simulator's new port.
    """
    database = open_database(settings.database_url)
    reports: list[DiscoveryReport] = []
    try:
        async with database.session() as session:
            providers = await point_providers_at_simulator(
                session=session, base_url=sim.base_url, scenario=sim.scenario
            )
            cache = CatalogCache(ttl_s=0)  # the app starts later, with a cache of its own
            for provider in providers:
                regions: list[str | None] = (
                    list(sim.scenario.regions) if provider.regional else [None]
                )
                for region in regions:
                    report = await discover_models(
                        session=session,
                        cache=cache,
                        provider_slug=provider.slug,
                        region=region,
                        secret=settings.encryption_secret,
                    )
                    reports.append(report)
    finally:
        await database.dispose()
    return providers, reports


async def first_certification(settings: Settings) -> str | None:
    """Queue the first-start certification job; a line to print, or None on a restart."""
    database = open_database(settings.database_url)
    try:
        async with database.session() as session:
            job = await queue_first_certification(session=session, settings=settings)
    finally:
        await database.dispose()
    if job is None:
        return None
    return (
        f"🏅 First start: certification job {job.id[:8]} queued ({job.total_models} items, "
        f"regions {', '.join(job.regions)}); it runs against the simulator as the server "
        "starts — follow it at /admin/jobs, badges appear on /models as items finish"
    )


def discovery_summary(reports: list[DiscoveryReport]) -> str:
    parts = [
        f"{r.provider_slug}{' ' + r.region if r.region else ''} +{r.added_count}" for r in reports
    ]
    total = sum(r.added_count for r in reports)
    return f"🔭 Discovery on the simulated providers: +{total} models ({', '.join(parts)})"


def print_demo_banner(
    host: str,
    port: int,
    sim: SimServer | None = None,
    providers: list[SimulatedProvider] | None = None,
) -> None:
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    console.rule("MyIA demo")
    say(f"🌐 Open http://{shown_host}:{port}  (API docs: /docs)")
    for user in default_seed().demo.users:
        say(f"🔑 {user.role.value:<5}  {user.email} / {escape(user.password)}")
    say("These demo logins are public: never use demo mode in production.")
    if sim is not None:
        names = ", ".join(escape(p.name) for p in providers or [])
        say(
            f"🧪 Providers are SIMULATED: {names} answer from the local provider simulator at "
            f"{sim.base_url} (scenario {escape(sim.scenario.name)}); no cloud is called."
        )


def demo(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, help="Port to listen on."),
    certify: bool = typer.Option(
        True,
        "--certify/--no-certify",
        help="On a first start, certify the catalog against the simulator in the background.",
    ),
    allow_public_demo: bool = serve_cli.allow_public_option(),
    scenario: Path | None = typer.Option(
        None,
        "--scenario",
        exists=True,
        dir_okay=False,
        help="Another simulator scenario (YAML, docs/simulator.md) instead of the demo's: "
        "e.g. a slower one, to watch the first certification.",
    ),
) -> None:
    """Start the app in demo mode: local SQLite, migrated, seeded with demo users and chats,
    with the provider simulator standing in for Bedrock and OpenAI (clearly labelled)."""
    settings = demo_settings()
    # Before anything is prepared: the demo's logins are printed on every start.
    serve_cli.refuse_public_bind(host, settings, allowed=allow_public_demo)
    say(f"🚀 Preparing the demo database {escape(mask_url(settings.database_url))}")
    try:
        report = asyncio.run(prepare_demo_database(settings))
    except MyIAError as exc:
        raise fail(escape(str(exc))) from exc
    print_seed_report(report)
    # The report above is the demo's output; INFO lines from discovery would only repeat it.
    # The app reconfigures logging when it starts.
    configure_logging("WARNING")
    sim = start_simulator(scenario)
    try:
        use_simulator_credentials(sim.scenario)
        say(f"🧪 Provider simulator up at {sim.base_url} (dummy credentials, this process only)")
        try:
            providers, reports = asyncio.run(connect_simulator(settings, sim))
        except (MyIAError, ProviderError) as exc:
            raise fail(f"discovery on the simulator failed: {escape(str(exc))}") from exc
        say(discovery_summary(reports))
        queued = asyncio.run(first_certification(settings)) if certify else None
        if queued:
            say(queued)
        print_demo_banner(host, port, sim, providers)
        if allow_public_demo:  # serve checks the address again, in the demo's mode
            serve_cli.serve(host=host, port=port, allow_public_demo=True)
        else:
            serve_cli.serve(host=host, port=port)
    finally:
        sim.stop()


def register(app: typer.Typer) -> None:
    app.command()(demo)
