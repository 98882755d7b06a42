"""`myia prices check` through CliRunner: the table, --json, the exit code cron reads."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.cli.console import console
from myia.db.models import ModelDeployment, PriceHistory
from tests.cli.conftest import Invoke, flat
from tests.factories import make_base_model, make_provider, run_on
from tests.maintenance.databases import seed

UseDatabase = Callable[[str], Path]
QWEN_7B = "Qwen/Qwen2.5-7B-Instruct-Turbo"  # seeded on together from pricing.yaml


@pytest.fixture
def seeded(db_url: str, use_database: UseDatabase, monkeypatch: pytest.MonkeyPatch) -> str:
    seed(db_url, demo=False)
    use_database(db_url)
    monkeypatch.setattr(console, "_width", 250)  # whole cells, no wrapping
    return db_url


def test_the_seeded_catalog_is_priced_and_an_old_price_is_stale(
    seeded: str, invoke: Invoke
) -> None:
    # Every seeded price is sourced and dated (2026-11 and later): nothing to report.
    clean = invoke("prices", "check", "--max-age-days", "3650")
    assert clean.exit_code == 0, clean.output
    assert "6 active deployments checked: 0 unpriced, 0 stale, 0 differs" in flat(clean.output)

    read_long_ago = date(2024, 12, 15)

    async def age(session: AsyncSession) -> None:
        row = await session.scalar(
            select(ModelDeployment).where(ModelDeployment.deployment_id == QWEN_7B)
        )
        assert row is not None
        row.price_as_of = read_long_ago  # as an install seeded in 2024 left it
        await session.commit()

    run_on(seeded, age)
    # A limit only that price is older than, whatever day the test runs.
    limit = (date.today() - read_long_ago).days - 1
    result = invoke("prices", "check", "--max-age-days", str(limit))
    text = flat(result.output)
    assert result.exit_code == 1, result.output
    assert "Prices older than the limit (or undated): 1" in text
    assert QWEN_7B in text and "read 2024-12-15" in text
    assert "6 active deployments checked: 0 unpriced, 1 stale, 0 differs" in text

    relaxed = invoke("prices", "check", "--max-age-days", "3650")
    assert relaxed.exit_code == 0, relaxed.output
    assert "0 unpriced, 0 stale, 0 differs" in flat(relaxed.output)


def test_json_names_an_unpriced_deployment_and_exits_1(seeded: str, invoke: Invoke) -> None:
    async def add(session: AsyncSession) -> None:
        provider = await make_provider(session, slug="acme")
        base = await make_base_model(session, name="Acme Mystery")
        session.add(
            ModelDeployment(
                base_model_id=base.id, provider_id=provider.id, deployment_id="acme-mystery"
            )
        )
        await session.commit()

    run_on(seeded, add)
    result = invoke("prices", "check", "--json", "--max-age-days", "3650")
    assert result.exit_code == 1, result.output
    report: dict[str, Any] = json.loads(result.output)
    assert report["needs_attention"] is True
    assert report["counts"] == {"unpriced": 1, "stale": 0, "differs": 0}
    [issue] = report["issues"]
    assert (issue["provider"], issue["deployment_id"], issue["finding"]) == (
        "acme",
        "acme-mystery",
        "unpriced",
    )
    assert issue["model"] == "Acme Mystery"


@pytest.mark.parametrize(
    ("args", "option"),
    [(("--max-age-days", "-1"), "--max-age-days"), (("--limit", "0"), "--limit")],
)
def test_bad_options_are_refused_by_name(
    seeded: str, invoke: Invoke, args: tuple[str, str], option: str
) -> None:
    result = invoke("prices", "check", *args)
    assert result.exit_code == 2
    assert option in flat(result.output)


def _gpt4_turbo(db_url: str) -> tuple[float | None, list[str]]:
    async def read(session: AsyncSession) -> tuple[float | None, list[str]]:
        row = await session.scalar(
            select(ModelDeployment).where(ModelDeployment.deployment_id == "gpt-4-turbo")
        )
        assert row is not None
        vias = await session.scalars(
            select(PriceHistory.via)
            .where(PriceHistory.deployment_id == row.id)
            .order_by(PriceHistory.changed_at)
        )
        return row.cost_per_1m_input, list(vias)

    result: tuple[float | None, list[str]] = run_on(db_url, read)
    return result


def test_update_re_prices_what_differs_from_the_bundled_table(seeded: str, invoke: Invoke) -> None:
    async def drift(session: AsyncSession) -> None:
        row = await session.scalar(
            select(ModelDeployment).where(ModelDeployment.deployment_id == "gpt-4-turbo")
        )
        assert row is not None
        row.cost_per_1m_input = 12.0  # not through the service: as an old install left it
        legacy = await session.scalar(
            select(ModelDeployment).where(ModelDeployment.deployment_id == "gpt-3.5-turbo")
        )
        assert legacy is not None
        legacy.price_source_kind = legacy.price_as_of = None  # a price from before 0010
        legacy.price_source_name = legacy.price_source_url = None
        await session.commit()

    run_on(seeded, drift)
    check = invoke("prices", "check", "--max-age-days", "3650")
    assert check.exit_code == 1 and "differ from the bundled table: 1" in flat(check.output)
    assert "the price has no as-of date" in flat(check.output)  # gpt-3.5-turbo

    preview = invoke("prices", "update", "--dry-run")
    assert preview.exit_code == 0, preview.output
    assert "2 deployments would take" in flat(preview.output)
    assert "gpt-4-turbo" in preview.output and "gpt-3.5-turbo" in preview.output
    assert _gpt4_turbo(seeded) == (12.0, ["seed"])

    refused = invoke("prices", "update")  # no terminal to confirm on
    assert refused.exit_code == 1 and "--yes" in flat(refused.output)
    assert _gpt4_turbo(seeded) == (12.0, ["seed"])

    done = invoke("prices", "update", "--yes")
    assert done.exit_code == 0, done.output
    assert _gpt4_turbo(seeded) == (10.0, ["seed", "cli"])
    assert invoke("prices", "check", "--max-age-days", "3650").exit_code == 0
    again = invoke("prices", "update", "--yes")
    assert again.exit_code == 0 and "Nothing to update" in flat(again.output)
