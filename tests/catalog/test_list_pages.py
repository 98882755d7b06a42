"""Catalog list pages rendered as JSON bytes (src/myia/catalog/pages.py, issue 22): the same
answer the validated response model gives, badges in the same order, a page's badges read in
one statement."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from myia.catalog.base_models import list_base_models
from myia.catalog.deployments import list_deployments, list_model_deployments
from myia.catalog.filters import BaseModelFilters, DeploymentFilters, ModelDeploymentFilters
from myia.catalog.schemas import BaseModelsPublic, DeploymentsPublic
from myia.db.engine import Database
from myia.db.enums import CertificationStatus
from myia.db.types import utcnow
from tests.factories import (
    bearer_headers,
    make_base_model,
    make_certification,
    make_deployment,
    make_provider,
)
from tests.statements import count_statements

MODEL_QUERIES = ("", "?page_size=2", "?page=2&page_size=2", "?q=%C3%BC", "?certified=true")
DEPLOYMENT_QUERIES = ("", "?page_size=3", "?vendor=ACME", "?capability=vision")


async def _catalog(session: AsyncSession) -> dict[str, Any]:
    """Rows with what validation would change if it were skipped: unknown and null capability
    keys, overrides, unpriced deployments, non-ASCII text, JSON settings; certifications valid,
    expired, never expiring and failed; two deployments of one model with one provider id."""
    one = await make_provider(session, slug="one", name="Provider Ü")
    two = await make_provider(session, slug="two", name="Provider 2", is_simulated=True)
    odd = await make_base_model(
        session, name="Modèle ü", vendor="Acme Ü", description="désc ✓",
        default_params={"temperature": 0.7, "stop": ["\u2028"]},
        release_date=utcnow() - timedelta(days=400),
        capabilities={"vision": True, "max_output_tokens": None, "from_the_future": 1},
    )  # fmt: skip
    plain = await make_base_model(session, name="Plain model")
    await make_base_model(session, name="Undeployed ü")
    shared_a = await make_deployment(
        session, base_model=odd, provider=one, deployment_id="shared:0",
        capabilities={"vision": False, "unknown_flag": True}, cost_per_1m_input=None,
        provider_config={"regions": ["us-east-1", "eu-west-1"]}, custom_params={"top_k": 5},
    )  # fmt: skip
    shared_b = await make_deployment(
        session, base_model=odd, provider=two, deployment_id="shared:0"
    )
    other = await make_deployment(session, base_model=odd, provider=two, deployment_id="a-first")
    inactive = await make_deployment(session, base_model=plain, provider=one, is_active=False)
    now = utcnow()
    for deployment in (shared_a, shared_b):
        for region in ("us-west-2", "eu-west-1", "us-east-1"):
            await make_certification(session, deployment=deployment, region=region)
    await make_certification(
        session, deployment=other, region="eu-west-1", badge="PREMIUM", rating=5.0,
        expires_at=now - timedelta(days=1),
    )  # fmt: skip
    # A NaN rating (PostgreSQL keeps it; SQLite stores NULL) is `null` in every answer.
    await make_certification(
        session, deployment=other, region="global", expires_at=None, rating=float("nan")
    )
    await make_certification(
        session, deployment=inactive, region="us-east-1", status=CertificationStatus.FAILED,
        badge="FAILED", rating=0.0, certified_at=None,
    )  # fmt: skip
    return {"odd": odd, "plain": plain, "shared": (shared_a, shared_b), "other": other}


def _fixed_point(model: Any, body: bytes) -> None:
    """Validating the answer and serialising it again gives the very same bytes: nothing in
    it is something the response model would have changed (order, defaults, types)."""
    adapter = TypeAdapter(model)
    assert adapter.dump_json(adapter.validate_json(body)) == body


async def test_list_answers_are_what_their_response_models_give(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    catalog = await _catalog(session)
    headers = await bearer_headers(session)
    odd_id = catalog["odd"].id
    pages = [(f"/api/v2/models{q}", BaseModelsPublic) for q in MODEL_QUERIES]
    pages += [(f"/api/v2/deployments{q}", DeploymentsPublic) for q in DEPLOYMENT_QUERIES]
    pages += [(f"/api/v2/models/{odd_id}/deployments", DeploymentsPublic)]
    for url, model in pages:
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.text)
        assert response.headers["content-type"] == "application/json"
        assert response.json()["items"] or "certified" in url, url
        assert b"NaN" not in response.content, url
        _fixed_point(model, response.content)


async def test_json_pages_equal_the_object_pages(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The API's bytes and the in-process readers' objects (web UI, CLI) are one page."""
    catalog = await _catalog(session)
    headers = await bearer_headers(session)
    cache = app.state.myia.catalog_cache
    odd_id = catalog["odd"].id

    models = await list_base_models(session=session, cache=cache, filters=BaseModelFilters())
    body = (await client.get("/api/v2/models", headers=headers)).content
    assert TypeAdapter(BaseModelsPublic).dump_json(models) == body

    deployments = await list_deployments(
        session=session, cache=cache, filters=DeploymentFilters(page_size=3, page=1)
    )
    body = (await client.get("/api/v2/deployments?page_size=3", headers=headers)).content
    assert TypeAdapter(DeploymentsPublic).dump_json(deployments) == body

    of_model = await list_model_deployments(
        session=session, cache=cache, model_id=odd_id, filters=ModelDeploymentFilters()
    )
    body = (await client.get(f"/api/v2/models/{odd_id}/deployments", headers=headers)).content
    assert TypeAdapter(DeploymentsPublic).dump_json(of_model) == body


async def test_a_models_badges_and_placements(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    catalog = await _catalog(session)
    headers = await bearer_headers(session)
    items = (await client.get("/api/v2/models", headers=headers)).json()["items"]
    odd = next(m for m in items if m["id"] == catalog["odd"].id)
    assert (odd["deployment_count"], odd["active_deployment_count"]) == (3, 3)
    assert odd["providers"] == ["one", "two"]
    assert odd["capabilities"] == {
        "streaming": False, "vision": True, "tool_calling": False, "json_output": False,
        "max_context_window": None, "max_output_tokens": None,
    }  # fmt: skip
    shared_a, shared_b = (d.id for d in catalog["shared"])
    other = catalog["other"].id
    # By provider model id, then region; two deployments with one provider id interleave.
    tied = sorted((shared_a, shared_b))
    assert [(c["deployment_id"], c["region"]) for c in odd["certifications"]] == [
        (other, "eu-west-1"),
        (other, "global"),
        *[(d, "eu-west-1") for d in tied],
        *[(d, "us-east-1") for d in tied],
        *[(d, "us-west-2") for d in tied],
    ]
    by_region = {c["region"]: c for c in odd["certifications"] if c["deployment_id"] == other}
    assert not by_region["eu-west-1"]["valid"] and by_region["eu-west-1"]["badge"] == "PREMIUM"
    assert by_region["global"]["valid"] and by_region["global"]["expires_at"] is None
    assert by_region["global"]["rating"] is None  # NaN
    plain = next(m for m in items if m["id"] == catalog["plain"].id)
    assert (plain["deployment_count"], plain["active_deployment_count"]) == (1, 0)
    assert plain["providers"] == []
    [failed] = plain["certifications"]
    assert (failed["status"], failed["badge"], failed["valid"]) == ("FAILED", "FAILED", False)
    undeployed = next(m for m in items if m["name"] == "Undeployed ü")
    assert undeployed["deployment_count"] == 0 and undeployed["certifications"] == []


async def test_a_models_page_reads_its_badges_in_one_statement(
    session: AsyncSession, database: Database, app: FastAPI
) -> None:
    await _catalog(session)
    cache = app.state.myia.catalog_cache

    async def selects(**filters: Any) -> list[str]:
        with count_statements(database) as seen:
            await list_base_models(
                session=session, cache=cache, filters=BaseModelFilters(**filters)
            )
        return [s for s in seen if s.lstrip().upper().startswith("SELECT")]

    # A full page: the page, the count, the page's deployments with their badges.
    full = await selects(page_size=2)
    assert len(full) == 3, full
    assert len([s for s in full if "model_certifications" in s]) == 1
    # The last page tells its total: no count.
    assert len(await selects()) == 2
    assert len(await selects(page=2, page_size=2)) == 2


async def test_totals_with_and_without_a_count(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _catalog(session)
    headers = await bearer_headers(session)
    for path, total in (("/api/v2/models", 3), ("/api/v2/deployments", 4)):
        for query, items in (
            ("", total), ("?page_size=2", 2), ("?page=2&page_size=2", total - 2),
            ("?page=3&page_size=2", 0), ("?page=9", 0), ("?q=nothing-like-it", 0),
            (f"?page_size={total}", total), (f"?page=2&page_size={total}", 0),
        ):  # fmt: skip
            if path.endswith("deployments") and query.startswith("?q="):
                continue
            page = (await client.get(path + query, headers=headers)).json()
            expected = 0 if query.startswith("?q=") else total
            assert (len(page["items"]), page["total"]) == (items, expected), (path, query)
