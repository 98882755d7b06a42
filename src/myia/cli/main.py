"""Entry point of `myia`: joins the noun groups and the top-level verbs."""

from __future__ import annotations

import typer

from myia.cli import certifications as certifications_cli
from myia.cli import certify as certify_cli
from myia.cli import db, demo, secrets, serve, sim
from myia.cli import jobs as jobs_cli
from myia.cli import manage as manage_cli
from myia.cli import models as models_cli
from myia.cli import worker as worker_cli

app = typer.Typer(
    name="myia",
    help="MyIA operator CLI: database, catalog, certification, serving.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(secrets.app, name="secrets")
app.add_typer(models_cli.app, name="models")
app.add_typer(certifications_cli.app, name="certifications")
app.add_typer(jobs_cli.app, name="jobs")
serve.register(app)
sim.register(app)
demo.register(app)
certify_cli.register(app)
manage_cli.register(app)
worker_cli.register(app)


if __name__ == "__main__":  # pragma: no cover
    app()
