"""`myia demo`: demo mode, a local SQLite file by default, migrated and seeded, the provider
simulator started and the catalog discovered from it, then served."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from myia.cli import serve as serve_cli
from myia.config import get_settings, reset_settings_cache
from myia.db.engine import Database
from myia.db.models import Provider
from myia.maintenance.demo_sim import scenario_path, simulator_environment
from myia.sim import load_scenario
from tests.catalog.discovery_sim import expected_chat_models
from tests.cli.conftest import Invoke, flat
from tests.maintenance.databases import execute, row_counts

SEEDED = 6
# gpt-4o and gpt-4o-mini: the demo scenario's OpenAI models the seed does not have.
OPENAI_NEW = 2


def expected_deployments() -> int:
    bedrock = set().union(
        *(expected_chat_models(r) for r in ("us-east-1", "us-west-2", "eu-west-1"))
    )
    return SEEDED + len(bedrock) + OPENAI_NEW


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, object]]]:
    """Record the serve call instead of starting uvicorn; snapshot the settings it would see."""
    calls: list[dict[str, object]] = []

    def fake_serve(host: str, port: int) -> None:
        settings = get_settings()
        calls.append(
            {"host": host, "port": port, "mode": settings.mode, "url": settings.database_url}
        )

    monkeypatch.setattr(serve_cli, "serve", fake_serve)
    # demo writes these into os.environ; registering them here restores them afterwards.
    monkeypatch.setenv("MYIA_MODE", "test")
    monkeypatch.setenv("DATABASE_URL", "placeholder")
    for name in simulator_environment(load_scenario(scenario_path())):
        monkeypatch.setenv(name, "placeholder")
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    yield calls
    reset_settings_cache()


def _simulator_url(output: str) -> str:
    match = re.search(r"Provider simulator up at (http://127\.0\.0\.1:\d+)", output)
    assert match, output
    return match.group(1)


def test_demo_defaults_to_a_local_sqlite_file(
    served: list[dict[str, object]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    invoke: Invoke,
) -> None:
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.chdir(tmp_path)
    result = invoke("demo", "--host", "127.0.0.1", "--port", "8123")
    assert result.exit_code == 0, result.output
    assert served == [
        {
            "host": "127.0.0.1",
            "port": 8123,
            "mode": "demo",
            "url": "sqlite+aiosqlite:///var/demo.db",
        }
    ]
    out = flat(result.stdout)
    assert "http://127.0.0.1:8123" in out
    assert "leo@leo.com / leoleo" in out and "123@123.com / 123123" in out
    assert "Providers are SIMULATED: AWS Bedrock (simulated), Groq (simulated)" in out
    added = expected_deployments() - SEEDED
    assert f"🔭 Discovery on the simulated providers: +{added} models" in out
    url = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'demo.db'}"
    assert row_counts(url, ["providers", "users", "messages", "model_deployments"]) == {
        "providers": 4,
        "users": 2,
        "messages": 12,
        "model_deployments": expected_deployments(),
    }
    # The simulator lives as long as the app: once serve returns, it is gone.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{_simulator_url(result.stdout)}/_sim/health", timeout=2)

    # A second start reuses the file: the seed and discovery are idempotent.
    again = invoke("demo", "--port", "8124")
    assert again.exit_code == 0, again.output
    assert "nothing to add" in again.stdout
    assert "🔭 Discovery on the simulated providers: +0 models" in flat(again.stdout)
    assert row_counts(url, ["messages", "model_deployments"]) == {
        "messages": 12,
        "model_deployments": expected_deployments(),
    }


def test_demo_keeps_a_configured_database_and_rewires_its_providers(
    served: list[dict[str, object]],
    monkeypatch: pytest.MonkeyPatch,
    db_url: str,
    invoke: Invoke,
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = invoke("demo", "--port", "8125")
    assert result.exit_code == 0, result.output
    assert served[0]["url"] == db_url and served[0]["mode"] == "demo"
    assert os.environ["MYIA_MODE"] == "demo"
    # Dummy standard-chain credentials, for this process only.
    assert os.environ["AWS_ACCESS_KEY_ID"].startswith("AKIA")
    assert os.environ["OPENAI_API_KEY"].startswith("sim-demo-")
    assert row_counts(db_url, ["chats", "api_call_logs"]) == {"chats": 3, "api_call_logs": 6}
    sim_url = _simulator_url(result.stdout)

    rows = _providers(db_url)
    assert {slug for slug, *_ in rows} == {"bedrock", "groq", "openai", "together"}
    for slug, name, base_url, simulated in rows:
        assert simulated and name.endswith(" (simulated)")
        assert base_url == (sim_url if slug == "bedrock" else f"{sim_url}/{slug}/v1")

    # A restart moves the simulator to a new port and must not stack name suffixes.
    execute(db_url, "UPDATE providers SET base_url = 'http://127.0.0.1:1/old'")
    again = invoke("demo", "--port", "8126")
    assert again.exit_code == 0, again.output
    new_url = _simulator_url(again.stdout)
    for slug, name, base_url, _ in _providers(db_url):
        assert name.count("(simulated)") == 1
        assert base_url.startswith(new_url), (slug, base_url)


def _providers(url: str) -> list[tuple[str, str, str, bool]]:
    async def read() -> list[tuple[str, str, str, bool]]:
        database = Database(url)
        try:
            async with database.session() as session:
                rows = await session.scalars(select(Provider).order_by(Provider.slug))
                return [(p.slug, p.name, p.base_url or "", p.is_simulated) for p in rows]
        finally:
            await database.dispose()

    return asyncio.run(read())
