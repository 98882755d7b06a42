"""GET /api/v2/deployments/search (issue 27): the issue's query as one request, the ranking
by a token mix, unpriced results last, each result's certification and price source, and
bad constraints refused by name. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.enums import CertificationStatus, PriceSourceKind
from myia.db.models import DeploymentPrice
from myia.db.types import utcnow
from tests.factories import (
    bearer_headers,
    capabilities,
    make_base_model,
    make_certification,
    make_deployment,
    make_provider,
)

URL = "/api/v2/deployments/search"
# "The cheapest certified deployment in an EU region with tool calling and vision, a context
# of at least 100k tokens, under $3 per 1M input tokens, badge Recommended or better."
ISSUE_QUERY: dict[str, Any] = {
    "capability": ["tool_calling", "vision"],
    "geography": "eu",
    "min_context": 100_000,
    "max_input_price": 3,
    "min_badge": "RECOMMENDED",
}
BEDROCK_PAGE = "https://aws.amazon.com/bedrock/pricing/"


@pytest.fixture
async def user(session: AsyncSession) -> dict[str, str]:
    return await bearer_headers(session)


async def _catalog(session: AsyncSession) -> dict[str, Any]:
    """Deployments that each fail exactly one of the issue's constraints, and two that meet
    them all: Nova in two EU regions, Claude in eu-west-1 only through its EU price."""
    bedrock = await make_provider(session, slug="bedrock", name="AWS Bedrock")
    openai = await make_provider(session, slug="openai", name="OpenAI")
    off = await make_provider(session, slug="offline", name="Offline", is_active=False)
    seeing = {**capabilities(vision=True, tool_calling=True), "max_context_window": 200_000}
    claude = await make_base_model(session, name="Claude", vendor="Anthropic", capabilities=seeing)
    nova = await make_base_model(
        session,
        name="Nova",
        vendor="Amazon",
        capabilities={**seeing, "max_context_window": 100_000},
    )
    small = await make_base_model(
        session, name="Small", vendor="Acme", capabilities={**seeing, "max_context_window": 32_000}
    )
    blind = await make_base_model(
        session, name="Blind", vendor="Acme", capabilities=capabilities(tool_calling=True)
    )

    async def deployment(
        model: Any, provider: Any, name: str, price: float | None, **kw: Any
    ) -> Any:
        return await make_deployment(
            session, base_model=model, provider=provider, deployment_id=name,
            cost_per_1m_input=price, cost_per_1m_output=None if price is None else price * 5,
            price_source_kind=None if price is None else PriceSourceKind.BUNDLED,
            price_source_name=None if price is None else "Amazon Bedrock pricing",
            price_source_url=None if price is None else BEDROCK_PAGE,
            price_as_of=None if price is None else date(2026, 11, 1), **kw,
        )  # fmt: skip

    rows = {
        "claude": await deployment(claude, bedrock, "claude-eu", 3.5),
        "nova": await deployment(nova, bedrock, "nova-pro", 0.8),
        "claude-openai": await deployment(claude, openai, "claude-global", 1.0),
        "unpriced": await deployment(claude, bedrock, "claude-unpriced", None),
        "small": await deployment(small, bedrock, "small", 0.1),
        "blind": await deployment(blind, bedrock, "blind", 0.1),
        "no-vision": await deployment(
            claude, bedrock, "claude-no-vision", 0.2, capabilities={"vision": False}
        ),
        "inactive": await deployment(claude, bedrock, "claude-off", 0.1, is_active=False),
        "offline": await deployment(claude, off, "claude-offline", 0.1),
        "functional": await deployment(claude, bedrock, "claude-functional", 0.3),
        "expired": await deployment(claude, bedrock, "claude-expired", 0.3),
        "failed": await deployment(claude, bedrock, "claude-failed", 0.3),
    }
    now = utcnow()
    for name in ("claude", "nova", "unpriced", "small", "blind", "no-vision", "inactive",
                 "offline"):  # fmt: skip
        await make_certification(session, deployment=rows[name], region="eu-west-1")
    # Certified in the EU too, but below the badge, expired, or failed.
    await make_certification(
        session, deployment=rows["functional"], region="eu-west-1", badge="FUNCTIONAL", rating=3.0
    )
    await make_certification(
        session, deployment=rows["expired"], region="eu-west-1", expires_at=now - timedelta(hours=1)
    )
    await make_certification(
        session, deployment=rows["failed"], region="eu-west-1", status=CertificationStatus.FAILED
    )
    await make_certification(
        session, deployment=rows["claude"], region="us-east-1", badge="PREMIUM", rating=4.8
    )
    await make_certification(
        session, deployment=rows["nova"], region="eu-central-1", badge="PREMIUM", rating=4.6
    )
    await make_certification(
        session, deployment=rows["claude-openai"], region="global", badge="PREMIUM", rating=4.9
    )
    # Claude's EU price (a geography price) is under $3; its price everywhere is not.
    session.add(
        DeploymentPrice(
            deployment_id=rows["claude"].id,
            region="eu",
            cost_per_1m_input=2.5,
            cost_per_1m_output=12.5,
            source_kind=PriceSourceKind.BUNDLED,
            source_name="Amazon Bedrock pricing (EU)",
            source_url=BEDROCK_PAGE,
            as_of=date(2026, 11, 2),
        )
    )
    await session.commit()
    return rows


def _places(response: httpx.Response) -> list[tuple[str, str | None]]:
    assert response.status_code == 200, response.text
    return [(item["deployment_id"], item["region"]) for item in response.json()["items"]]


async def test_the_issues_query_in_one_request(
    client: httpx.AsyncClient, session: AsyncSession, user: dict[str, str]
) -> None:
    rows = await _catalog(session)
    response = await client.get(URL, params=ISSUE_QUERY, headers=user)
    # Nova's two regions cost the same: the higher rating first. Claude qualifies in
    # eu-west-1 only through its EU price (3.5 everywhere, 2.5 in the EU).
    assert _places(response) == [
        ("nova-pro", "eu-central-1"), ("nova-pro", "eu-west-1"), ("claude-eu", "eu-west-1"),
    ]  # fmt: skip
    body = response.json()
    assert (body["total"], body["page"], body["page_size"]) == (3, 1, 20)
    assert (body["input_tokens"], body["output_tokens"], body["currency"]) == (1000, 1000, "USD")
    nova, claude = body["items"][0], body["items"][2]
    assert nova["id"] == rows["nova"].id
    assert nova["provider"]["slug"] == "bedrock" and nova["base_model"]["name"] == "Nova"
    assert nova["effective_capabilities"]["max_context_window"] == 100_000
    certification = nova["certification"]
    assert certification["region"] == "eu-central-1"
    assert (certification["badge"], certification["rating"]) == ("PREMIUM", 4.6)
    assert certification["status"] == "CERTIFIED" and certification["valid"] is True
    assert certification["certified_at"] and certification["expires_at"]
    assert nova["price"] == {
        "cost_per_1m_input": 0.8, "cost_per_1m_output": 4.0, "region": None,
        "source_kind": "bundled", "source_name": "Amazon Bedrock pricing",
        "source_url": BEDROCK_PAGE, "as_of": "2026-11-01",
    }  # fmt: skip
    assert (nova["input_cost"], nova["output_cost"], nova["total_cost"]) == (0.0008, 0.004, 0.0048)
    assert claude["price"] == {
        "cost_per_1m_input": 2.5, "cost_per_1m_output": 12.5, "region": "eu",
        "source_kind": "bundled", "source_name": "Amazon Bedrock pricing (EU)",
        "source_url": BEDROCK_PAGE, "as_of": "2026-11-02",
    }  # fmt: skip
    assert claude["certification"]["badge"] == "RECOMMENDED" and claude["priced"] is True

    # The same constraints as a region instead of a geography, and page by page.
    in_ireland = {**ISSUE_QUERY, "geography": None, "region": "eu-west-1"}
    del in_ireland["geography"]
    assert _places(await client.get(URL, params=in_ireland, headers=user)) == [
        ("nova-pro", "eu-west-1"), ("claude-eu", "eu-west-1"),
    ]  # fmt: skip
    second = await client.get(URL, params={**ISSUE_QUERY, "page": 2, "page_size": 2}, headers=user)
    assert _places(second) == [("claude-eu", "eu-west-1")] and second.json()["total"] == 3
    past = await client.get(URL, params={**ISSUE_QUERY, "page": 9, "page_size": 2}, headers=user)
    assert _places(past) == [] and past.json()["total"] == 3


async def test_unpriced_rank_last_and_are_never_free(
    client: httpx.AsyncClient, session: AsyncSession, user: dict[str, str]
) -> None:
    await _catalog(session)
    query = {**ISSUE_QUERY}
    del query["max_input_price"]
    found = await client.get(URL, params=query, headers=user)
    assert _places(found) == [
        ("nova-pro", "eu-central-1"), ("nova-pro", "eu-west-1"), ("claude-eu", "eu-west-1"),
        ("claude-unpriced", "eu-west-1"),
    ]  # fmt: skip
    unpriced = found.json()["items"][-1]
    assert unpriced["priced"] is False
    assert (unpriced["total_cost"], unpriced["input_cost"], unpriced["output_cost"]) == (
        None, None, None,
    )  # fmt: skip
    assert unpriced["price"]["cost_per_1m_input"] is None
    assert unpriced["price"]["source_kind"] is None
    # A price ceiling never lets an unknown price through, even at $0 of input.
    free = await client.get(URL, params={**query, "max_input_price": 1000}, headers=user)
    assert ("claude-unpriced", "eu-west-1") not in _places(free)


async def test_the_token_mix_decides_the_ranking(
    client: httpx.AsyncClient, session: AsyncSession, user: dict[str, str]
) -> None:
    provider = await make_provider(session, slug="p")
    model = await make_base_model(session, name="M")
    reader = await make_deployment(
        session, base_model=model, provider=provider, deployment_id="cheap-in",
        cost_per_1m_input=1.0, cost_per_1m_output=10.0,
    )  # fmt: skip
    writer = await make_deployment(
        session, base_model=model, provider=provider, deployment_id="cheap-out",
        cost_per_1m_input=3.0, cost_per_1m_output=2.0,
    )  # fmt: skip
    for row in (reader, writer):
        await make_certification(session, deployment=row, region="global")
    reading = {"input_tokens": 100_000, "output_tokens": 1_000}
    writing = {"input_tokens": 1_000, "output_tokens": 100_000}
    assert _places(await client.get(URL, params=reading, headers=user)) == [
        ("cheap-in", "global"), ("cheap-out", "global"),
    ]  # fmt: skip
    found = await client.get(URL, params=writing, headers=user)
    assert _places(found) == [("cheap-out", "global"), ("cheap-in", "global")]
    assert [item["total_cost"] for item in found.json()["items"]] == [0.203, 1.001]


async def test_uncertified_deployments_on_request(
    client: httpx.AsyncClient, session: AsyncSession, user: dict[str, str]
) -> None:
    provider = await make_provider(session, slug="p")
    model = await make_base_model(session, name="M")
    never = await make_deployment(
        session, base_model=model, provider=provider, deployment_id="never"
    )
    failed = await make_deployment(
        session, base_model=model, provider=provider, deployment_id="failed"
    )
    await make_certification(
        session, deployment=failed, region="eu-west-1", status=CertificationStatus.FAILED,
        badge="FAILED", rating=0.0,
    )  # fmt: skip
    assert _places(await client.get(URL, headers=user)) == []
    found = await client.get(URL, params={"certified": "false"}, headers=user)
    assert sorted(_places(found)) == [("failed", "eu-west-1"), ("never", None)]
    by_place = {item["deployment_id"]: item for item in found.json()["items"]}
    assert by_place["never"]["certification"] is None and by_place["never"]["id"] == never.id
    assert by_place["failed"]["certification"]["status"] == "FAILED"
    assert by_place["failed"]["certification"]["valid"] is False
    # A region constraint needs a certification row there.
    in_eu = await client.get(URL, params={"certified": "false", "geography": "eu"}, headers=user)
    assert _places(in_eu) == [("failed", "eu-west-1")]


def _fields(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    return {error["field"] for error in response.json()["errors"]}


async def test_bad_constraints_are_refused_by_name(
    client: httpx.AsyncClient, session: AsyncSession, user: dict[str, str]
) -> None:
    bad = {
        "capability": "telepathy", "geography": "mars", "min_badge": "GOOD",
        "max_input_price": "-1", "max_output_price": "nan", "min_context": "0",
        "page_size": "1000", "input_tokens": "lots", "region": "EU West",
        "inference_type": "SOMETIMES",
    }  # fmt: skip
    assert _fields(await client.get(URL, params=bad, headers=user)) == set(bad)
    assert _fields(await client.get(URL, params={"maximum_price": "3"}, headers=user)) == {
        "maximum_price"
    }
    assert (await client.get(URL, params=ISSUE_QUERY)).status_code == 401
