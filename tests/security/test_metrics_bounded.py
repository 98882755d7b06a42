"""Audit finding 5: a metrics request may not make the server scan everyone's call log.

A non-admin's window is capped (METRICS_MAX_HOURS_USER, a 422 naming `hours` beyond it); the
figures are computed by the database, so the rows a request brings into Python and the
statements it sends do not grow with the calls in its window; and the SQL figures equal the
former Python computation (kept below as the oracle) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.engine import Database
from myia.db.enums import UserRole
from myia.db.models import ApiCallLog, SystemMetric
from myia.db.types import utcnow
from myia.metrics import service
from myia.metrics.schemas import CallMetrics, GroupBy, MetricsReport
from tests.factories import bearer_headers, make_small_catalog
from tests.statements import count_statements

REGIONS = ["us-east-1", "eu-west-1", None]
PROVIDERS = ["bedrock", "openai"]
OPERATIONS = ["chat", "gateway", "certification"]


# --- the window cap --------------------------------------------------------------------------
def _field(response: httpx.Response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


async def test_a_users_window_is_capped_an_admins_is_not(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    catalog = await make_small_catalog(session)
    deployment = catalog["claude@bedrock"].id
    user = await bearer_headers(session)
    admin = await bearer_headers(session, role=UserRole.ADMIN)
    for path in (f"/api/v2/metrics/{deployment}", "/api/v2/metrics"):
        year = await client.get(path, params={"hours": 8784}, headers=user)
        assert year.status_code == 422, year.text
        assert _field(year) == ["hours"] and "168" in year.json()["detail"]
        just_over = await client.get(path, params={"hours": 168.5}, headers=user)
        assert just_over.status_code == 422 and _field(just_over) == ["hours"]
        week = await client.get(path, params={"hours": 168}, headers=user)
        assert week.status_code == 200, week.text
        # The same span given as since/until is refused the same way, naming `since`.
        until = utcnow()
        month = await client.get(
            path,
            params={
                "since": (until - timedelta(days=30)).isoformat(),
                "until": until.isoformat(),
            },
            headers=user,
        )
        assert month.status_code == 422 and _field(month) == ["since"]
        # A week long ago is still a week: the span is capped, not how far back one looks.
        old = await client.get(
            path,
            params={
                "since": (until - timedelta(days=60)).isoformat(),
                "until": (until - timedelta(days=53)).isoformat(),
            },
            headers=user,
        )
        assert old.status_code == 200, old.text
        assert (await client.get(path, params={"hours": 8784}, headers=admin)).status_code == 200
        over = await client.get(path, params={"hours": 8785}, headers=admin)
        assert over.status_code == 422 and _field(over) == ["hours"]


# --- seeding ---------------------------------------------------------------------------------
def _rows(n: int, deployments: list[str], now: datetime, seed: int) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        failed = rnd.random() < 0.15
        rows.append(
            {
                "deployment_id": rnd.choice(deployments),
                "provider": rnd.choice(PROVIDERS),
                "model": "m",
                "region": rnd.choice(REGIONS),
                "operation": rnd.choice(OPERATIONS),
                "status": "error" if failed else "success",
                "latency_ms": None if rnd.random() < 0.1 else rnd.randint(1, 5000),
                "time_to_first_token_ms": None if rnd.random() < 0.4 else rnd.randint(1, 900),
                "tokens_in": None if failed else rnd.randint(0, 4000),
                "tokens_out": None if failed else rnd.randint(0, 900),
                "cost": None if failed or rnd.random() < 0.1 else rnd.random() / 100,
                # distinct instants, newest first: "the newest k calls" is well defined
                "created_at": now - timedelta(seconds=10 + i),
            }
        )
    return rows


async def _seed(session: AsyncSession, n: int, seed: int = 7) -> tuple[list[dict[str, Any]], Any]:
    catalog = await make_small_catalog(session)
    deployments = [catalog["claude@bedrock"].id, catalog["gpt@openai"].id]
    now = utcnow()
    rows = _rows(n, deployments, now, seed)
    await session.execute(insert(ApiCallLog), rows)
    samples = [
        {"metric_type": kind, "deployment_id": dep, "value": float(v),
         "timestamp": now - timedelta(minutes=v)}
        for v, (kind, dep) in enumerate(
            [("latency", deployments[0]), ("latency", deployments[1]), ("usage", None)] * 7, 1
        )
    ]  # fmt: skip
    await session.execute(insert(SystemMetric), samples)
    await session.commit()
    return rows, catalog


# --- the former computation, kept as the oracle ---------------------------------------------
def _nearest_rank(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1])


def _oracle(rows: list[dict[str, Any]], key: str | None) -> dict[str, Any]:
    latencies = [r["latency_ms"] for r in rows if r["latency_ms"] is not None]
    ttfts = [r["time_to_first_token_ms"] for r in rows if r["time_to_first_token_ms"] is not None]
    errors = sum(r["status"] != "success" for r in rows)
    return {
        "key": key,
        "calls": len(rows),
        "errors": errors,
        "error_rate": errors / len(rows) if rows else 0.0,
        "latency_ms": {f"p{q}": _nearest_rank(latencies, q) for q in (50, 95, 99)},
        "time_to_first_token_ms": {f"p{q}": _nearest_rank(ttfts, q) for q in (50, 95, 99)},
        "tokens_in": sum(r["tokens_in"] or 0 for r in rows),
        "tokens_out": sum(r["tokens_out"] or 0 for r in rows),
        "cost": sum(r["cost"] or 0.0 for r in rows),
        "unpriced_calls": sum(r["status"] == "success" and r["cost"] is None for r in rows),
    }


_COLUMN = {"deployment": "deployment_id", "provider": "provider", "operation": "operation",
           "region": "region"}  # fmt: skip


def _assert_same(got: CallMetrics, expected: dict[str, Any]) -> None:
    figures = got.model_dump()
    assert figures.pop("cost") == pytest.approx(expected.pop("cost"), rel=1e-9, abs=1e-12)
    assert figures == expected


@pytest.mark.parametrize("group_by", [None, "deployment", "provider", "operation", "region"])
async def test_figures_equal_the_former_python_computation(
    session: AsyncSession, group_by: GroupBy | None
) -> None:
    rows, catalog = await _seed(session, 400)
    deployment = catalog["claude@bedrock"].id
    now = utcnow()
    for filters in ({}, {"deployment_id": deployment, "operation": "chat"}):
        chosen = [r for r in rows if all(r[k] == v for k, v in filters.items())]
        report = await service.report(
            session=session,
            since=now - timedelta(hours=1),
            until=now,
            group_by=group_by,
            **filters,
        )
        _assert_same(report.total, _oracle(chosen, None))
        assert report.percentile_calls == len(chosen) and not report.percentiles_sampled
        if group_by is None:
            assert report.groups == []
            continue
        by_key: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for r in chosen:
            by_key[r[_COLUMN[group_by]]].append(r)
        expected = sorted(
            (_oracle(members, key) for key, members in by_key.items()),
            key=lambda m: (-m["calls"], m["key"] or ""),
        )
        assert [g.key for g in report.groups] == [e["key"] for e in expected]
        for got, want in zip(report.groups, expected, strict=True):
            _assert_same(got, want)


async def test_system_samples_are_summarised_as_before(session: AsyncSession) -> None:
    _, catalog = await _seed(session, 10)
    now = utcnow()
    report = await service.report(session=session, since=now - timedelta(hours=1), until=now)
    summary = {(s.metric_type, s.deployment_id): s for s in report.system}
    dep0, dep1 = catalog["claude@bedrock"].id, catalog["gpt@openai"].id
    # values 1..21 in turn to (latency, dep0), (latency, dep1), (usage, None); value v is
    # v minutes old, so the newest of each pair is its smallest value.
    for (kind, dep), first in (
        (("latency", dep0), 1),
        (("latency", dep1), 2),
        (("usage", None), 3),
    ):
        values = list(range(first, 22, 3))
        s = summary[(kind, dep)]
        assert (s.samples, s.last) == (7, float(first))
        assert s.average == pytest.approx(sum(values) / 7)
    assert [s.metric_type for s in report.system] == ["latency", "latency", "usage"]


async def test_percentiles_over_a_bounded_sample_say_so(session: AsyncSession) -> None:
    rows, _catalog = await _seed(session, 300)
    now = utcnow()
    report = await service.report(
        session=session, since=now - timedelta(hours=1), until=now, percentile_rows=120
    )
    newest = rows[:120]  # rows are newest first
    expected = _oracle(newest, None)
    assert report.percentiles_sampled and report.percentile_calls == 120
    assert report.total.calls == 300  # counts, errors, tokens and cost cover every call
    assert report.total.model_dump()["latency_ms"] == expected["latency_ms"]
    assert report.total.model_dump()["time_to_first_token_ms"] == expected["time_to_first_token_ms"]
    assert report.total.tokens_in == _oracle(rows, None)["tokens_in"]


# --- the work of one request does not grow with the rows -------------------------------------
async def _measured(
    database: Database, session: AsyncSession, monkeypatch: pytest.MonkeyPatch, **kw: Any
) -> tuple[MetricsReport, int, int]:
    """The report, the rows the service fetched from the database and its statements."""
    fetched: list[int] = []
    execute = session.execute

    async def counting(*args: Any, **kwargs: Any) -> Any:
        frozen = (await execute(*args, **kwargs)).freeze()
        fetched.append(len(frozen.data))
        return frozen()

    monkeypatch.setattr(session, "execute", counting)
    now = utcnow()
    try:
        with count_statements(database) as statements:
            report = await service.report(
                session=session, since=now - timedelta(hours=2), until=now, **kw
            )
    finally:
        monkeypatch.undo()
    selects = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    return report, sum(fetched), len(selects)


async def test_rows_brought_into_python_do_not_grow_with_the_calls(
    database: Database, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _seed(session, 300, seed=1)
    small = [await _measured(database, session, monkeypatch, group_by=g) for g in (None, "region")]
    await session.execute(
        insert(ApiCallLog), _rows(6000, [None], utcnow() - timedelta(minutes=5), seed=2)
    )
    await session.commit()
    large = [await _measured(database, session, monkeypatch, group_by=g) for g in (None, "region")]
    for (report_s, rows_s, stmts_s), (report_l, rows_l, stmts_l) in zip(small, large, strict=True):
        assert (report_s.total.calls, report_l.total.calls) == (300, 6300)
        # 3 statements: sums, percentiles, system samples. Rows: at most one per group for
        # the sums, 3 per (metric, group) and per metric for the percentiles, one per
        # (type, deployment) for the samples; nothing like one per call.
        assert stmts_s == stmts_l <= 3
        assert rows_s <= 40 and rows_l <= 40
