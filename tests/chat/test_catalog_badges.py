"""Badges for users: catalog responses carry each deployment's certification per region (the
chat's model picker shows them), and the catalog filters on certified, region and badge."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.enums import CertificationStatus
from myia.db.types import utcnow
from tests.factories import bearer_headers, make_certification, make_small_catalog


async def _catalog(session: AsyncSession) -> dict[str, Any]:
    """Claude: RECOMMENDED in us-east-1, expired PREMIUM in eu-west-1; GPT-4o: FAILED in
    global; Llama and Mistral: no certification."""
    catalog = await make_small_catalog(session)
    await make_certification(session, deployment=catalog["claude@bedrock"], region="us-east-1")
    await make_certification(
        session, deployment=catalog["claude@bedrock"], region="eu-west-1", badge="PREMIUM",
        rating=5.0, expires_at=utcnow() - timedelta(days=1),
    )  # fmt: skip
    await make_certification(
        session, deployment=catalog["gpt@openai"], region="global", badge="FAILED",
        rating=0.0, status=CertificationStatus.FAILED,
    )  # fmt: skip
    return catalog


def _ids(page: dict[str, Any]) -> set[str]:
    return {item["id"] for item in page["items"]}


async def test_a_plain_user_sees_badges_in_every_catalog_response(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    catalog = await _catalog(session)
    headers = await bearer_headers(session)
    claude_id = catalog["claude@bedrock"].id

    deployments = (await client.get("/api/v2/deployments", headers=headers)).json()
    by_id = {d["id"]: d for d in deployments["items"]}
    badges = {c["region"]: c for c in by_id[claude_id]["certifications"]}
    assert set(badges) == {"eu-west-1", "us-east-1"}
    assert badges["us-east-1"]["badge"] == "RECOMMENDED" and badges["us-east-1"]["valid"]
    assert badges["us-east-1"]["status"] == "CERTIFIED" and badges["us-east-1"]["rating"] == 4.0
    assert badges["us-east-1"]["expires_at"] is not None
    assert badges["eu-west-1"]["badge"] == "PREMIUM" and not badges["eu-west-1"]["valid"]
    assert by_id[catalog["llama@bedrock"].id]["certifications"] == []
    [gpt] = by_id[catalog["gpt@openai"].id]["certifications"]
    assert (gpt["status"], gpt["badge"], gpt["valid"]) == ("FAILED", "FAILED", False)

    one = (await client.get(f"/api/v2/deployments/{claude_id}", headers=headers)).json()
    assert one["certifications"] == by_id[claude_id]["certifications"]

    models = (await client.get("/api/v2/models", headers=headers)).json()
    claude = next(m for m in models["items"] if m["id"] == catalog["claude"].id)
    assert {(c["deployment_id"], c["region"]) for c in claude["certifications"]} == {
        (claude_id, "us-east-1"),
        (claude_id, "eu-west-1"),
    }
    detail = (await client.get(f"/api/v2/models/{catalog['claude'].id}", headers=headers)).json()
    assert detail["deployments"][0]["certifications"] == by_id[claude_id]["certifications"]
    assert len(detail["certifications"]) == 2


async def test_filters_certified_region_and_badge(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    catalog = await _catalog(session)
    headers = await bearer_headers(session)
    claude, gpt, llama = (catalog[k].id for k in ("claude@bedrock", "gpt@openai", "llama@bedrock"))

    async def deployments(query: str) -> set[str]:
        response = await client.get(f"/api/v2/deployments?{query}", headers=headers)
        assert response.status_code == 200, response.text
        return _ids(response.json())

    async def models(query: str) -> set[str]:
        response = await client.get(f"/api/v2/models?{query}", headers=headers)
        assert response.status_code == 200, response.text
        return _ids(response.json())

    assert await deployments("certified=true") == {claude}
    assert await deployments("certified=false") == {gpt, llama}
    assert await deployments("certified=true&region=us-east-1") == {claude}
    assert await deployments("certified=true&region=eu-west-1") == set()  # expired there
    assert await deployments("certified=false&region=eu-west-1") == {claude, gpt, llama}
    assert await deployments("region=global") == {gpt}
    assert await deployments("badge=PREMIUM") == {claude}
    assert await deployments("badge=PREMIUM&certified=true") == set()  # the PREMIUM expired
    assert await deployments("badge=RECOMMENDED&region=us-east-1") == {claude}
    assert await deployments("badge=RECOMMENDED&region=eu-west-1") == set()
    assert await deployments("badge=FAILED") == {gpt}
    model_url = f"/api/v2/models/{catalog['claude'].id}/deployments?certified=true"
    assert _ids((await client.get(model_url, headers=headers)).json()) == {claude}

    assert await models("certified=true") == {catalog["claude"].id}
    assert await models("certified=false") == {catalog[k].id for k in ("gpt", "llama", "mistral")}
    assert await models("badge=FAILED&region=global") == {catalog["gpt"].id}
    bad = await client.get("/api/v2/deployments?badge=SHINY", headers=headers)
    assert bad.status_code == 422
