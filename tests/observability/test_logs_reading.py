"""Logs you can read (issue 28): a user's failed gateway call, found by the request id its
answer carries, with `myia logs --request-id` and on /admin/logs; the filters and their bounds.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from myia.cli.main import app as cli
from myia.config import reset_settings_cache
from myia.db.engine import Database
from myia.db.enums import UserRole
from myia.errors import InvalidInputError
from myia.observability.log_queries import make_filter, parse_since, query_logs
from myia.sim import Scenario, SimServer, load_scenario
from tests.factories import make_user
from tests.gateway.conftest import SCENARIO, exhaust, make_world
from tests.sim_support import AppServer
from tests.web.conftest import sign_in


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(SCENARIO)


async def _logs_cli(
    db_url: str, monkeypatch: pytest.MonkeyPatch, *args: str
) -> list[dict[str, Any]]:
    """`myia logs --json ARGS`, in a thread: the command runs its own event loop."""
    monkeypatch.setenv("MYIA_MODE", "test")
    monkeypatch.setenv("DATABASE_URL", db_url)
    reset_settings_cache()
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["logs", "--json", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


async def test_a_failed_gateway_call_is_found_by_its_request_id(
    session: AsyncSession,
    db_url: str,
    sim: SimServer,
    sim_credentials: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim.reset_quotas()
    world = await make_world(session, sim)
    admin = await make_user(session, role=UserRole.ADMIN)
    user = await make_user(session)
    exhaust(sim, "cheapco", "solo-model")  # the only provider of "Solo Chat" now throttles

    with AppServer(db_url, LOG_TO_DB=True) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=world.key, max_retries=0)
        with pytest.raises(openai.APIStatusError) as failed:
            client.chat.completions.create(
                model="solo-chat", messages=[{"role": "user", "content": "hi"}]
            )
        request_id = failed.value.response.headers["x-request-id"]
        assert request_id in failed.value.message  # what the user reports

        # The batched log writer stores the lines a moment later: poll with a deadline.
        deadline = time.monotonic() + 30
        while True:
            lines = await _logs_cli(db_url, monkeypatch, "--request-id", request_id)
            if any(line["message"] == "gateway upstream failed" for line in lines):
                break
            assert time.monotonic() < deadline, lines
            await asyncio.sleep(0.2)
        assert {line["request_id"] for line in lines} == {request_id}
        failure = next(line for line in lines if line["message"] == "gateway upstream failed")
        assert failure["level"] == "warning" and failure["logger"] == "myia.gateway.service"
        assert failure["metadata"]["provider"] == "cheapco"
        # Filters combine: the same request's warnings only, by logger prefix.
        warned = await _logs_cli(
            db_url, monkeypatch, "--request-id", request_id, "--level", "warning",
            "--logger", "myia.gateway", "--since", "1h",
        )  # fmt: skip
        assert [line["message"] for line in warned] == ["gateway upstream failed"]

        async with httpx.AsyncClient(base_url=server.url) as browser:
            await sign_in(browser, admin.email, "secret-pw")
            page = await browser.get("/admin/logs", params={"request_id": request_id})
            assert page.status_code == 200
            assert "gateway upstream failed" in page.text and request_id in page.text
            bad = await browser.get("/admin/logs", params={"since": "yesterday-ish"})
            assert bad.status_code == 422 and "since" in bad.text.lower()
        async with httpx.AsyncClient(base_url=server.url) as browser:
            await sign_in(browser, user.email, "secret-pw")
            assert (await browser.get("/admin/logs")).status_code == 403


def test_the_cli_refuses_bad_filters_by_name(
    db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MYIA_MODE", "test")
    monkeypatch.setenv("DATABASE_URL", db_url)
    reset_settings_cache()
    runner = CliRunner()
    for args, named in (
        (["--level", "loud"], "level"),
        (["--since", "last tuesday"], "since"),
        (["--limit", "5000"], "limit"),
        (["--limit", "0"], "limit"),
    ):
        result = runner.invoke(cli, ["logs", *args])
        assert result.exit_code != 0, args
        assert named in result.output.lower(), result.output


def test_since_reads_durations_and_iso_times() -> None:
    now = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
    assert parse_since("15m", now=now) == now - timedelta(minutes=15)
    assert parse_since("2h", now=now) == now - timedelta(hours=2)
    assert parse_since("1w", now=now) == now - timedelta(weeks=1)
    assert parse_since("2026-01-01T00:00:00", now=now) == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_since("2026-01-01T02:00:00+02:00", now=now) == datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidInputError):
        parse_since("99999999d", now=now)


async def test_pages_follow_each_other_without_gaps_or_repeats(database: Database) -> None:
    from sqlalchemy import insert

    from myia.db.models import LogRecord
    from myia.db.types import new_id, utcnow

    stamp = utcnow().replace(microsecond=0)
    # Ten lines, four of them at the same instant: the id breaks the tie.
    rows = [
        {"id": new_id(), "timestamp": stamp - timedelta(seconds=max(i - 3, 0)),
         "level": "info", "message": f"line {i}"}
        for i in range(10)
    ]  # fmt: skip
    async with database.session() as session:
        await session.execute(insert(LogRecord), rows)
        await session.commit()
    seen: list[str] = []
    cursor = None
    async with database.read_session() as session:
        while True:
            page = await query_logs(session=session, filters=make_filter(), limit=3, before=cursor)
            seen += [line.message for line in page.lines]
            cursor = page.next_cursor
            if cursor is None:
                break
    assert sorted(seen) == sorted(r["message"] for r in rows) and len(seen) == 10


async def _add_line(database: Database, message: str, level: str = "warning") -> None:
    from sqlalchemy import insert

    from myia.db.models import LogRecord
    from myia.db.types import new_id, utcnow

    async with database.session() as session:
        row = {"id": new_id(), "timestamp": utcnow(), "level": level, "message": message,
               "metadata_": {"logger_name": "myia.test"}}  # fmt: skip
        await session.execute(insert(LogRecord), [row])
        await session.commit()


async def test_follow_prints_new_lines_as_they_are_stored(db_url: str, database: Database) -> None:
    import os

    from tests.sim_support import myia_command

    await _add_line(database, "before the follow")
    env = {**os.environ, "DATABASE_URL": db_url, "MYIA_MODE": "test"}
    command = [*myia_command(), "logs", "--follow", "--poll", "0.2", "--json", "--level", "warning"]
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        stdout = process.stdout

        async def next_message() -> str:
            line = await asyncio.wait_for(stdout.readline(), 60)
            assert line, "myia logs --follow ended"
            return str(json.loads(line)["message"])

        seen = [await next_message()]
        await _add_line(database, "below the level", level="info")
        await _add_line(database, "while following")
        seen.append(await next_message())
        assert seen == ["before the follow", "while following"]
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)
