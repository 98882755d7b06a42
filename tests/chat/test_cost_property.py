"""Telemetry adds up, for every message: tokens are what the provider reported, and
cost = input × price_in / 1M + output × price_out / 1M — null, with its reason, when the
deployment has no price."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.engine import Database
from myia.db.models import ApiCallLog, ModelDeployment
from myia.routing import invalidate_routes
from myia.sim import SimServer
from myia.telemetry.calls import call_log
from myia.telemetry.cost import UNPRICED_REASON
from tests.chat.conftest import certified_catalog, send
from tests.chat.test_chats import _sim_usage
from tests.factories import bearer_headers

PRICE = st.floats(min_value=0, max_value=500, allow_nan=False, allow_infinity=False)
CASE = st.tuples(
    st.text(alphabet="abcdefghij klmnop?", min_size=1, max_size=300).filter(str.strip),
    st.one_of(st.none(), st.tuples(PRICE, PRICE)),
)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cases=st.lists(CASE, min_size=1, max_size=3))
async def test_every_message_costs_its_tokens_at_its_prices(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    database: Database,
    sim: SimServer,
    sim_credentials: None,
    cases: list[tuple[str, tuple[float, float] | None]],
) -> None:
    if not hasattr(session, "_myia_catalog"):  # fixtures are shared by every example
        session._myia_catalog = await certified_catalog(session, sim)  # type: ignore[attr-defined]
        session._myia_headers = await bearer_headers(session)  # type: ignore[attr-defined]
    gpt_id = session._myia_catalog["gpt"].id  # type: ignore[attr-defined]
    headers = session._myia_headers  # type: ignore[attr-defined]
    chat = await client.post("/api/v2/chats", json={}, headers=headers)
    for content, prices in cases:
        async with database.session() as writer:
            row = await writer.get(ModelDeployment, gpt_id)
            assert row is not None
            row.cost_per_1m_input, row.cost_per_1m_output = prices or (None, None)
            await writer.commit()
        await invalidate_routes(cache=app.state.myia.catalog_cache)

        done = (await send(client, headers, chat.json()["id"], content))[-1][1]
        assert done["status"] == "complete"
        tokens_in, tokens_out = _sim_usage(sim, done["sent_context"])
        assert (done["tokens_in"], done["tokens_out"]) == (tokens_in, tokens_out)
        if prices is None:
            assert done["cost"] is None and done["cost_note"] == UNPRICED_REASON
        else:
            expected = (tokens_in * prices[0] + tokens_out * prices[1]) / 1_000_000
            assert done["cost"] == expected and done["cost_note"] is None

        await call_log().flush()
        async with database.session() as reader:
            logged = await reader.scalar(
                select(ApiCallLog).where(ApiCallLog.message_id == done["id"])
            )
        assert logged is not None
        assert (logged.tokens_in, logged.tokens_out, logged.cost) == (
            tokens_in, tokens_out, done["cost"]
        )  # fmt: skip
        assert logged.cost_note == (UNPRICED_REASON if prices is None else None)
