"""`myia sim`: run the provider simulator in the foreground."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import ValidationError

from myia.cli.console import console, fail


def sim(
    scenario: Path = typer.Option(
        ...,
        "--scenario",
        exists=True,
        dir_okay=False,
        readable=True,
        help="Scenario YAML (see docs/simulator.md), e.g. scenarios/demo.yaml.",
    ),
    port: int = typer.Option(8900, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
) -> None:
    """Run the SIMULATED Bedrock / OpenAI-compatible providers of a scenario."""
    import uvicorn

    from myia.sim import build_app, load_scenario

    try:
        loaded = load_scenario(scenario)
    except (ValidationError, ValueError) as exc:
        raise fail(f"invalid scenario {scenario}:\n{exc}") from exc
    base = f"http://{host}:{port}"
    slugs = [p.slug for p in loaded.openai_providers]
    console.print(f"[bold]myia simulator[/bold] (SIMULATED providers) — scenario {loaded.name!r}")
    console.print(f"  base URL      {base}")
    console.print(f"  Bedrock       {len(loaded.models)} models in {', '.join(loaded.regions)}")
    console.print(f"  OpenAI-compat {', '.join(slugs) or '—'}")
    console.print("\nPoint the SDKs at it:")
    console.print(
        f'  boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url="{base}",\n'
        '               aws_access_key_id="AKIASIMULATOR0000001", aws_secret_access_key="x")'
    )
    for slug in slugs:
        console.print(f'  openai.OpenAI(base_url="{base}/{slug}/v1", api_key="sk-sim")')
    uvicorn.run(build_app(loaded), host=host, port=port, log_config=None, access_log=False)


def register(app: typer.Typer) -> None:
    app.command(name="sim")(sim)
