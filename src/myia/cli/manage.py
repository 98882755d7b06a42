"""`myia manage`: the interactive menu of the seeds' manage-certifications.sh.

A header, the services' status (database, queue, workers' heartbeats, the API), the auth
status, then the 15 actions. Every action calls the same functions as the commands
(`myia certify`, `myia jobs …`), so the menu and the CLI cannot drift apart. The CLI works
on the database directly as the local operator: no API login, no token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import typer
from rich.markup import escape
from rich.panel import Panel
from rich.prompt import Confirm, Prompt

from myia.certification import jobs as job_service
from myia.certification import queries
from myia.cli import certify as certify_cli
from myia.cli import jobs as jobs_cli
from myia.cli.console import console
from myia.cli.db import run_on_database, say
from myia.cli.follow import queue_engine
from myia.cli.runs import build_selection, certify_selection, run_checked, split_list
from myia.config import get_settings, reset_settings_cache
from myia.db.engine import Database
from myia.db.enums import JobStatus
from myia.errors import MyIAError
from myia.maintenance.connection import check_connection, describe_error, mask_url
from myia.maintenance.schema import require_schema
from myia.queue.heartbeat import stale_after_s, workers

MENU = (
    "🎯 Certify one model",
    "📦 Certify a whole vendor",
    "🌍 Certify by region",
    "🔄 Re-certify expired models",
    "🚀 Certify ALL models",
    "📊 Statistics",
    "📜 Job history",
    "🔍 Job details",
    "⏸️  Pause / resume a job",
    "✖  Cancel a job",
    "🧹 Clean old jobs",
    "🔄 Sync database with queue",
    "🔧 Manage services",
    "🔌 Reconnect (re-check connections)",
    "🚪 Exit",
)
EXIT_CHOICE = str(len(MENU))


@dataclass
class Status:
    database: str = "unknown"
    database_ok: bool = False
    queue: str = "unknown"
    queue_ok: bool = False
    workers_alive: int = 0
    workers_known: int = 0
    admins: list[str] = field(default_factory=list)
    api: str = "unknown"


async def _gather(database: Database) -> Status:
    settings = get_settings()
    status = Status(database=mask_url(settings.database_url))
    try:
        await check_connection(database)
        await require_schema(database)
        status.database_ok = True
    except MyIAError as exc:  # unreachable, or not migrated: the message says what to run
        status.database = f"{status.database} — {exc}"
        return status
    try:
        async with queue_engine(database, settings, run_work=False) as engine:
            health = await engine.health()
        status.queue_ok = health.get("status") == "up"
        status.queue = str(health.get("engine")) + ("" if status.queue_ok else " (down)")
    except Exception as exc:
        status.queue = f"unavailable: {escape(str(exc))}"
    try:
        async with database.session() as session:
            found = await workers(session, stale_after_s=stale_after_s(settings))
            status.admins = await queries.admin_emails(session=session)
        status.workers_known = len(found)
        status.workers_alive = sum(bool(w["alive"]) for w in found)
    except Exception as exc:  # schema not migrated yet
        status.queue += f" (no heartbeats: {describe_error(exc, settings.database_url)})"
    return status


def api_status(api_url: str) -> str:
    try:
        response = httpx.get(f"{api_url.rstrip('/')}/api/health", timeout=1.5)
    except httpx.HTTPError:
        return f"⚪ not answering at {api_url} (start it with: myia serve)"
    mark = "✅" if response.status_code == 200 else "⚠️ "
    return f"{mark} answering at {api_url} (HTTP {response.status_code})"


def show_status(api_url: str) -> Status:
    status = run_on_database(_gather, connect_first=False)
    status.api = api_status(api_url)
    ok, ko = "[green]✅[/green]", "[red]❌[/red]"
    say("📊 Services status:")
    say(f"   Database:  {ok if status.database_ok else ko} {escape(status.database)}")
    say(f"   Queue:     {ok if status.queue_ok else ko} {status.queue}")
    if status.workers_alive:
        say(f"   Workers:   {ok} {status.workers_alive} alive ({status.workers_known} known)")
    else:
        say("   Workers:   ⚪ none alive — with the embedded engine, runs started here work "
            "in this process")  # fmt: skip
    say(f"   API:       {status.api}")
    say("🔐 Authentication:")
    say("   Acting as: the local operator — direct database access through DATABASE_URL,")
    say("              no API login or token needed; jobs run with the environment's")
    say("              provider credentials (AWS chain, <SLUG>_API_KEY)")
    admins = ", ".join(status.admins) if status.admins else "none (myia db seed --demo adds one)"
    say(f"   Admins:    {escape(admins)}")
    return status


def header() -> None:
    console.print(
        Panel.fit("[bold]MYIA — MODEL CERTIFICATION MANAGER[/bold]", border_style="cyan"),
        soft_wrap=True,
    )


def print_menu() -> None:
    console.rule()
    say("📋 MAIN MENU")
    for number, label in enumerate(MENU, start=1):
        say(f"{number:>2}) {label}")


# --- actions ---------------------------------------------------------------------------------
def _regions() -> list[str]:
    default = ",".join(get_settings().default_regions)
    return split_list(Prompt.ask("Regions (comma-separated)", default=default))


def _latest_job_id() -> str:
    async def action(database: Database) -> str:
        async with database.session() as session:
            found = await job_service.list_jobs(session=session, limit=1)
        return found[0].id if found else ""

    return run_checked(action)


def _ask_job() -> str:
    latest = _latest_job_id()
    return Prompt.ask("Job id", default=latest or None) or ""


def certify_model() -> None:
    model = Prompt.ask("Model (base model id or name, or deployment id)")
    certify_selection(build_selection(models=[model], regions=_regions()), wait=True)


def certify_vendor() -> None:
    vendor = Prompt.ask("Vendor (e.g. mistral)")
    certify_selection(build_selection(vendor=vendor, regions=_regions()), wait=True)


def certify_region() -> None:
    region = Prompt.ask("Region", default=get_settings().default_regions[0])
    certify_selection(build_selection(regions=[region]), wait=True)


def recertify_expired() -> None:
    certify_cli.recertify(
        yes=False,
        dry_run=False,
        delay=0,
        max_retries=None,
        only=None,
        skip_cleanup=False,
        expired=True,
        older_than=None,
        regions=None,
        log_dir=certify_cli.DEFAULT_LOG_DIR,
        no_wait=False,
    )


def certify_all() -> None:
    if Confirm.ask("Certify ALL active models in the default regions?", default=False):
        certify_selection(build_selection(all=True), wait=True)


def pause_or_resume() -> None:
    job_id = _ask_job()

    async def action(database: Database) -> JobStatus:
        async with database.session() as session:
            return (await job_service.get_job(session=session, job_id=job_id)).status

    status = run_checked(action)
    if status is JobStatus.PAUSED:
        jobs_cli.resume(job_id, wait=True)
    else:
        jobs_cli.pause(job_id)


def cancel_job() -> None:
    job_id = _ask_job()
    if Confirm.ask(f"Cancel job {job_id}?", default=False):
        jobs_cli.cancel(job_id)


def manage_services() -> None:
    say("🔧 Services")
    say("   API + embedded workers:  myia serve [--host 0.0.0.0 --port 8000]")
    say("   Distributed workers:     QUEUE_URL=redis://… myia worker   (run N of them)")
    say("   Demo (simulated clouds): myia demo")
    say("   Stop: Ctrl+C in their terminal, or your process manager "
        "(e.g. systemctl stop myia-serve / myia-worker)")  # fmt: skip
    say("   Health: GET /api/health — database, queue and workers' heartbeats")
    jobs_cli.show_stats()


@dataclass
class Menu:
    api_url: str
    actions: dict[str, Callable[[], object]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.actions = {
            "1": certify_model,
            "2": certify_vendor,
            "3": certify_region,
            "4": recertify_expired,
            "5": certify_all,
            "6": jobs_cli.show_stats,
            "7": jobs_cli.show_history,
            "8": lambda: jobs_cli.show_job(_ask_job()),
            "9": pause_or_resume,
            "10": cancel_job,
            "11": lambda: jobs_cli.clean(dry_run=False, yes=False),
            "12": jobs_cli.sync,
            "13": manage_services,
            "14": self.reconnect,
        }

    def reconnect(self) -> None:
        reset_settings_cache()
        say("🔌 Re-checking connections...")
        show_status(self.api_url)

    def run(self) -> None:
        header()
        show_status(self.api_url)
        while True:
            print_menu()
            try:
                choice = Prompt.ask(
                    f"Choose an option [1-{EXIT_CHOICE}]",
                    choices=[str(n) for n in range(1, len(MENU) + 1)],
                    show_choices=False,
                )
            except (EOFError, KeyboardInterrupt):
                choice = EXIT_CHOICE
            if choice == EXIT_CHOICE:
                say("👋 Bye!")
                return
            self.perform(choice)

    def perform(self, choice: str) -> None:
        console.rule(MENU[int(choice) - 1])
        try:
            self.actions[choice]()
        except typer.Exit:  # the command already said why (stderr); back to the menu
            pass
        except (EOFError, KeyboardInterrupt):
            say("\n(interrupted)")


def manage(
    api_url: str = typer.Option(
        "http://127.0.0.1:8000", "--api-url", help="Where `myia serve` answers, for the status."
    ),
) -> None:
    """The interactive certification manager (seed 000 §4.2): status and 15 actions."""
    Menu(api_url).run()


def register(app: typer.Typer) -> None:
    app.command()(manage)
