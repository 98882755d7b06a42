"""/api/v2/deployments/{id}/prices: regional prices and the price history, through the API."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.enums import UserRole
from tests.factories import bearer_headers, make_base_model, make_deployment, make_provider

URL = "/api/v2/deployments"


async def test_regional_prices_are_set_read_priced_and_removed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    admin = await bearer_headers(session, role=UserRole.ADMIN)
    base = await make_base_model(session)
    deployment = await make_deployment(
        session, base_model=base, provider=await make_provider(session)
    )
    dep_id, model_id = deployment.id, base.id
    compare = f"/api/v2/models/{model_id}/compare-prices"
    mix = {"input_tokens": 1_000_000, "output_tokens": 0, "region": "eu-west-1"}

    before = await client.get(compare, params=mix, headers=admin)
    assert before.status_code == 200, before.text
    assert before.json()["items"][0]["total_cost"] == 1.0  # the price everywhere (cached now)

    put = await client.put(
        f"{URL}/{dep_id}/prices/eu",
        json={
            "cost_per_1m_input": 1.25,
            "cost_per_1m_output": 2.5,
            "price_source_name": "Acme EU list",
            "price_source_url": "https://acme.example/eu",
            "price_as_of": "2026-11-20",
        },
        headers=admin,
    )
    assert put.status_code == 200, put.text
    body = put.json()
    [eu] = body["regional"]
    assert (eu["region"], eu["cost_per_1m_input"], eu["source_kind"]) == ("eu", 1.25, "operator")
    assert eu["as_of"] == "2026-11-20"
    assert body["history"][0]["region"] == "eu" and body["history"][0]["via"] == "api"

    # The cached comparison was dropped: a call from eu-west-1 now pays the eu price.
    after = await client.get(compare, params=mix, headers=admin)
    assert after.json()["items"][0]["total_cost"] == 1.25

    read = await client.get(f"{URL}/{dep_id}/prices", params={"limit": 1}, headers=admin)
    assert read.status_code == 200
    assert len(read.json()["history"]) == 1

    gone = await client.delete(f"{URL}/{dep_id}/prices/eu", headers=admin)
    assert gone.status_code == 204
    again = await client.delete(f"{URL}/{dep_id}/prices/eu", headers=admin)
    assert again.status_code == 404
    final = (await client.get(f"{URL}/{dep_id}/prices", headers=admin)).json()
    assert final["regional"] == []
    assert [h["region"] for h in final["history"]] == ["eu", "eu"]  # set, then removed


async def test_bad_regional_writes_are_refused_by_name(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    admin = await bearer_headers(session, role=UserRole.ADMIN)
    user = await bearer_headers(session)
    deployment = await make_deployment(
        session, base_model=await make_base_model(session), provider=await make_provider(session)
    )
    dep_id = deployment.id
    good = {"cost_per_1m_input": 1.0, "cost_per_1m_output": 2.0}

    forbidden = await client.put(f"{URL}/{dep_id}/prices/eu", json=good, headers=user)
    assert forbidden.status_code == 403
    for region in ("EU West", "eu_west", "-eu"):
        bad = await client.put(f"{URL}/{dep_id}/prices/{region}", json=good, headers=admin)
        assert bad.status_code == 422 and "region" in bad.text, region
    negative = await client.put(
        f"{URL}/{dep_id}/prices/eu", json={**good, "cost_per_1m_input": -1}, headers=admin
    )
    assert negative.status_code == 422 and "cost_per_1m_input" in negative.text
    missing = await client.put(
        f"{URL}/{dep_id}/prices/eu", json={"cost_per_1m_input": 1.0}, headers=admin
    )
    assert missing.status_code == 422 and "cost_per_1m_output" in missing.text
    unknown = await client.put(f"{URL}/{dep_id}/prices/eu", json={**good, "tax": 1}, headers=admin)
    assert unknown.status_code == 422 and "tax" in unknown.text
    nowhere = await client.put(f"{URL}/no-such-id/prices/eu", json=good, headers=admin)
    assert nowhere.status_code == 404
    too_many = await client.get(f"{URL}/{dep_id}/prices", params={"limit": 501}, headers=admin)
    assert too_many.status_code == 422 and "limit" in too_many.text

    state = (await client.get(f"{URL}/{dep_id}/prices", headers=admin)).json()
    assert state["regional"] == [] and state["history"] == []
