"""MetricsService and its endpoints: figures that match the calls made, and /metrics."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification import jobs
from myia.certification.selection import JobSelection
from myia.db.engine import Database
from myia.db.enums import UserRole
from myia.db.types import utcnow
from myia.metrics.service import percentile, record_metric
from myia.sim import SimServer
from myia.telemetry.calls import CallLogWriter, CallRecord, call_log
from tests.chat.conftest import certified_catalog, send
from tests.factories import bearer_headers


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # unsorted on purpose
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (
        50.0, 95.0, 99.0
    )  # fmt: skip
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


async def _chat_calls(
    client: httpx.AsyncClient, headers: dict[str, str], n: int
) -> list[dict[str, object]]:
    chat = await client.post("/api/v2/chats", json={}, headers=headers)
    done = []
    for i in range(n):
        events = await send(client, headers, chat.json()["id"], f"question {i}")
        done.append(events[-1][1])
    await call_log().flush()
    return done


async def test_metrics_match_the_calls_made(
    client: httpx.AsyncClient, session: AsyncSession, sim: SimServer, sim_credentials: None
) -> None:
    catalog = await certified_catalog(session, sim)
    admin = await bearer_headers(session, role=UserRole.ADMIN)
    alice = await bearer_headers(session)
    bob = await bearer_headers(session)
    alice_done = await _chat_calls(client, alice, 3)
    bob_done = await _chat_calls(client, bob, 2)
    every = alice_done + bob_done

    report = (await client.get("/api/v2/metrics?group_by=user", headers=admin)).json()
    total = report["total"]
    assert total["calls"] == 5 and total["errors"] == 0 and total["error_rate"] == 0
    assert total["tokens_in"] == sum(m["tokens_in"] for m in every)  # type: ignore[misc]
    assert total["tokens_out"] == sum(m["tokens_out"] for m in every)  # type: ignore[misc]
    assert abs(total["cost"] - sum(m["cost"] for m in every)) < 1e-12  # type: ignore[misc]
    assert total["unpriced_calls"] == 0
    assert total["latency_ms"]["p50"] is not None
    assert total["time_to_first_token_ms"]["p99"] is not None
    assert sorted(g["calls"] for g in report["groups"]) == [2, 3]

    # A plain user sees their own calls only, and may not look at other users.
    own = (await client.get("/api/v2/metrics", headers=bob)).json()["total"]
    assert own["calls"] == 2
    assert own["tokens_out"] == sum(m["tokens_out"] for m in bob_done)  # type: ignore[misc]
    assert (await client.get("/api/v2/metrics?group_by=user", headers=bob)).status_code == 403

    per_deployment = (await client.get(f"/api/v2/metrics/{catalog['gpt'].id}", headers=bob)).json()
    assert per_deployment["total"]["calls"] == 5
    assert [g["key"] for g in per_deployment["groups"]] == ["global"]
    assert (await client.get("/api/v2/metrics/nope", headers=bob)).status_code == 404
    by_op = (await client.get("/api/v2/metrics?group_by=operation", headers=admin)).json()
    assert [(g["key"], g["calls"]) for g in by_op["groups"]] == [("chat", 5)]
    past = (utcnow() - timedelta(days=3)).isoformat()
    earlier = (utcnow() - timedelta(days=2)).isoformat()
    window = await client.get(
        "/api/v2/metrics", params={"since": past, "until": earlier}, headers=admin
    )
    assert window.status_code == 200 and window.json()["total"]["calls"] == 0


async def test_latency_percentiles_errors_and_unpriced_calls(
    client: httpx.AsyncClient, session: AsyncSession, database: Database, sim: SimServer
) -> None:
    catalog = await certified_catalog(session, sim)
    deployment = catalog["claude"].id
    writer = CallLogWriter()
    for latency in range(1, 101):  # 1..100 ms, every tenth an error, the rest priced 0.01
        failed = latency % 10 == 0
        writer.record(
            CallRecord(
                operation="gateway", provider="bedrock", model="m", region="us-east-1",
                deployment_id=deployment, status="error" if failed else "success",
                latency_ms=float(latency), ttft_ms=float(latency) / 2,
                tokens_in=None if failed else 10, tokens_out=None if failed else 5,
                cost=None if failed or latency == 1 else 0.01,
                error_category="THROTTLED" if failed else None,
            )
        )  # fmt: skip
    await writer.flush(database)
    await record_metric(session=session, metric_type="latency", value=40.0,
                        deployment_id=deployment)  # fmt: skip
    await record_metric(session=session, metric_type="latency", value=60.0,
                        deployment_id=deployment)  # fmt: skip
    headers = await bearer_headers(session)
    report = (await client.get(f"/api/v2/metrics/{deployment}", headers=headers)).json()
    total = report["total"]
    assert total["calls"] == 100 and total["errors"] == 10 and total["error_rate"] == 0.1
    assert total["latency_ms"] == {"p50": 50.0, "p95": 95.0, "p99": 99.0}
    assert total["time_to_first_token_ms"]["p50"] == 25.0
    assert total["tokens_in"] == 900 and total["tokens_out"] == 450
    assert abs(total["cost"] - 89 * 0.01) < 1e-9
    assert total["unpriced_calls"] == 1
    assert report["system"] == [
        {"metric_type": "latency", "deployment_id": deployment, "samples": 2,
         "average": 50.0, "last": 60.0, "last_at": report["system"][0]["last_at"]}
    ]  # fmt: skip


async def test_prometheus_endpoint_exposes_the_series(
    client: httpx.AsyncClient, session: AsyncSession, sim: SimServer, sim_credentials: None
) -> None:
    await certified_catalog(session, sim)
    await jobs.create_job(
        session=session,
        selection=JobSelection(
            models=["anthropic.claude-3-5-sonnet-20241022-v2:0"], regions=["us-east-1", "eu-west-1"]
        ),
        default_regions=[],
    )
    headers = await bearer_headers(session)
    await _chat_calls(client, headers, 1)
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    for series in (
        'myia_provider_requests_total{operation="chat",provider="openai",status="success"}',
        'myia_provider_latency_seconds_bucket{le="0.005",operation="chat",provider="openai"}',
        'myia_provider_time_to_first_token_seconds_count{operation="chat",provider="openai"}',
        'myia_provider_tokens_total{direction="out",operation="chat",provider="openai"}',
        'myia_provider_cost_usd_total{operation="chat",provider="openai"}',
        'myia_certifications{status="CERTIFIED"} 2.0',
        'myia_certification_queue_items{status="QUEUED"} 2.0',
        "myia_call_log_queue_depth",
        "# TYPE myia_gateway_fallbacks_total counter",
        "# TYPE myia_provider_errors_total counter",
    ):
        assert series in body, series


async def test_hostile_metric_queries_are_client_errors(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    admin = await bearer_headers(session, role=UserRole.ADMIN)
    for params in (
        {"provider": "open\x00ai"},
        {"until": "0001-01-01T00:00:00+00:00"},
        {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"since": "2020-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"hours": "0"},
        {"group_by": "password"},
        {"until": "0.5"},
        {"since": "2026-01-01"},
    ):
        response = await client.get("/api/v2/metrics", params=params, headers=admin)
        assert response.status_code == 422, (params, response.status_code, response.text)
    for edge in ({"until": "9999-12-31T23:59:59-14:00"}, {"since": "0001-01-01T00:00:00+14:00"}):
        response = await client.get("/api/v2/metrics", params=edge, headers=admin)
        assert response.status_code in (200, 422), (edge, response.text)
    assert (await client.get("/api/v2/metrics/a%00b", headers=admin)).status_code == 422
    assert (await client.get("/api/v2/metrics")).status_code == 401
