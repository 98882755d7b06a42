"""`myia models find` (issue 27): the issue's query as options, a table or the API's JSON,
bad options refused by name. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.test_deployment_search_api import _catalog
from tests.cli.conftest import Invoke, flat
from tests.factories import run_on

ISSUE_OPTIONS = [
    "models", "find", "--capability", "tool_calling", "--capability", "vision",
    "--geography", "eu", "--min-context", "100000", "--max-input-price", "3",
    "--min-badge", "recommended",
]  # fmt: skip


def _store(db_url: str) -> dict[str, str]:
    async def build(session: AsyncSession) -> dict[str, str]:
        return {name: row.id for name, row in (await _catalog(session)).items()}

    ids: dict[str, str] = run_on(db_url, build)
    return ids


def test_find_prints_the_ranked_table(cli_db: str, invoke: Invoke) -> None:
    _store(cli_db)
    result = invoke(*ISSUE_OPTIONS)
    assert result.exit_code == 0, result.output
    out = flat(result.output)
    assert "1-3 of 3, cheapest first for 1,000 input + 1,000 output tokens" in out
    rows = [line for line in result.output.splitlines() if line.startswith("│ ")]
    assert [row.split("│")[4].strip() for row in rows] == ["nova-pro", "nova-pro", "claude-eu"]
    assert [row.split("│")[5].strip() for row in rows] == ["eu-central-1", "eu-west-1", "eu-west-1"]
    assert "PREMIUM 4.6★ until" in rows[0] and "RECOMMENDED 4.0★" in rows[1]
    # Claude's row shows the EU price that let it in, and that price's source and date.
    assert "2.5 / 12.5 (eu)" in rows[2] and "Amazon Bedrock pricing (EU), 2026-11-02" in rows[2]
    assert "$0.004800" in rows[0] and "$0.015000" in rows[2]
    assert "More:" not in out

    paged = invoke(*ISSUE_OPTIONS, "--page-size", "2")
    assert "1-2 of 3" in flat(paged.output) and "More: --page 2" in flat(paged.output)

    nothing = invoke(*ISSUE_OPTIONS, "--vendor", "nobody")
    assert nothing.exit_code == 0
    assert "No deployment meets these constraints (0 in all)." in flat(nothing.output)


def test_find_json_is_the_apis_answer(cli_db: str, invoke: Invoke) -> None:
    ids = _store(cli_db)
    result = invoke(*ISSUE_OPTIONS, "--input-tokens", "100000", "--output-tokens", "0", "--json")
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.output)
    assert (body["total"], body["input_tokens"], body["output_tokens"]) == (3, 100_000, 0)
    assert [item["id"] for item in body["items"]] == [ids["nova"], ids["nova"], ids["claude"]]
    assert body["items"][2]["price"]["region"] == "eu"
    assert body["items"][2]["total_cost"] == 0.25
    assert body["items"][0]["certification"]["badge"] == "PREMIUM"

    uncertified = json.loads(
        invoke("models", "find", "--include-uncertified", "--vendor", "acme", "--json").output
    )
    assert {item["deployment_id"] for item in uncertified["items"]} == {"small", "blind"}


def test_find_refuses_bad_options_by_name(cli_db: str, invoke: Invoke) -> None:
    result = invoke(
        "models", "find", "--geography", "mars", "--min-badge", "good",
        "--max-input-price", "-1", "--capability", "telepathy", "--page-size", "500",
    )  # fmt: skip
    assert result.exit_code == 1
    out = flat(result.output)
    for option in ("--geography", "--min-badge", "--max-input-price", "--capability",
                   "--page-size"):  # fmt: skip
        assert f"{option}:" in out, out
    typed = invoke("models", "find", "--min-context", "lots")
    assert typed.exit_code == 2 and "--min-context" in flat(typed.output)
