"""Entry point of `myia`: joins the noun groups and the top-level verbs.

Every command is lazy (myia.cli.lazy): its module, and the SDKs and ORM it uses, load only
when that command runs. Each help line here is its command's docstring's first line
(tests/ops/test_cli_startup.py keeps them equal).
"""

from __future__ import annotations

import typer

from myia.cli.errors import OneLineErrors
from myia.cli.lazy import LazyCommand, LazyGroup

_CLI = "myia.cli."
LAZY_COMMANDS: tuple[LazyCommand, ...] = (
    LazyCommand(
        "serve",
        _CLI + "serve",
        "Start the app: the API and, without QUEUE_URL, the embedded queue workers.",
    ),
    LazyCommand(
        "sim",
        _CLI + "sim",
        "Run the SIMULATED Bedrock / OpenAI-compatible providers of a scenario.",
    ),
    LazyCommand(
        "demo",
        _CLI + "demo",
        "Start the app in demo mode: local SQLite, migrated, seeded with demo users and chats,",
    ),
    LazyCommand(
        "certify",
        _CLI + "certify",
        "Certify models: one (--model), a vendor, a region, or all — per deployment × region.",
    ),
    LazyCommand(
        "recertify",
        _CLI + "certify",
        "Re-certify: clean the selected certifications, run them again, report and log.",
    ),
    LazyCommand(
        "manage",
        _CLI + "manage",
        "The interactive certification manager (seed 000 §4.2): status and 15 actions.",
    ),
    LazyCommand(
        "worker",
        _CLI + "worker",
        "Run an SAQ worker: certify the items queued on QUEUE_URL until SIGTERM/Ctrl-C.",
    ),
    LazyCommand(
        "validate",
        _CLI + "validate",
        "Check the whole setup: database, schema, data, queue, server, auth, endpoints.",
    ),
    LazyCommand(
        "health",
        _CLI + "health",
        "Health of the database, queue and workers; with --alerts, exit 1 when an alert fires.",
    ),
    LazyCommand(
        "logs",
        _CLI + "logs",
        "Read the application logs stored in the database (LOG_TO_DB), newest last.",
    ),
    LazyCommand(
        "db",
        _CLI + "db",
        "Database: diagnose, migrate, seed, backup, restore, reset, prune.",
        attr="app",
    ),
    LazyCommand(
        "secrets",
        _CLI + "secrets",
        "Secrets: rotate the key that encrypts provider credentials.",
        attr="app",
    ),
    LazyCommand(
        "models",
        _CLI + "models",
        "Models: discover new ones on a provider, list or search the catalog, check credentials.",
        attr="app",
    ),
    LazyCommand(
        "prices",
        _CLI + "prices",
        "Prices: check them (unpriced, stale, different from the bundled table), update them.",
        attr="app",
    ),
    LazyCommand(
        "catalog",
        _CLI + "catalog",
        "Catalog: export it to a YAML file, import one (diff, dry run, prune).",
        attr="app",
    ),
    LazyCommand(
        "providers",
        _CLI + "providers",
        "Providers: list them, point one at another base URL.",
        attr="app",
    ),
    LazyCommand(
        "certifications",
        _CLI + "certifications",
        "Certification results: check, show, clear, uncertified.",
        attr="app",
    ),
    LazyCommand("jobs", _CLI + "jobs", "Certification jobs and the queue.", attr="app"),
    LazyCommand(
        "keys",
        _CLI + "keys",
        "API keys of the OpenAI-compatible gateway: create, list, revoke.",
        attr="app",
    ),
    LazyCommand(
        "users",
        _CLI + "users",
        "Users: create (the first admin too), list, set-role, disable, reset-password, unlock.",
        attr="app",
    ),
)


class RootGroup(OneLineErrors, LazyGroup):
    lazy_commands = LAZY_COMMANDS


app = typer.Typer(
    name="myia",
    help="MyIA operator CLI: database, catalog, certification, serving.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=RootGroup,
)


@app.callback()
def _root() -> None:
    """MyIA operator CLI: database, catalog, certification, serving."""


if __name__ == "__main__":  # pragma: no cover
    app()
