"""Prices on the pages (issue 27): the admin edits a price with its source, the model's price
page shows the source and the history, the admin catalog page shows the price check."""

from __future__ import annotations

from datetime import date

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.catalog.price_history import ChangeVia, Price, PriceSource, record_price_change
from myia.db.enums import PriceSourceKind
from myia.db.models import BaseModel, ModelDeployment, PriceHistory, Provider

MODEL = "GPT-4 Turbo"  # seeded on openai from pricing.yaml


async def _gpt4(session: AsyncSession) -> ModelDeployment:
    row = await session.scalar(
        select(ModelDeployment)
        .join(BaseModel, BaseModel.id == ModelDeployment.base_model_id)
        .join(Provider, Provider.id == ModelDeployment.provider_id)
        .where(BaseModel.name == MODEL, Provider.slug == "openai")
    )
    assert row is not None
    return row


async def test_an_admin_price_edit_with_a_source_shows_in_the_history(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    deployment = await _gpt4(session)
    dep_id, model_id = deployment.id, deployment.base_model_id
    token = admin_client.headers["x-test-csrf"]
    page = await admin_client.get(f"/models/{model_id}/prices")
    assert page.status_code == 200
    assert "LiteLLM" in page.text and "as of 2026-12-04" in page.text  # the seed's citation
    assert "seed" in page.text  # its first price, in the history

    saved = await admin_client.post(
        f"/admin/catalog/deployments/{dep_id}",
        data={
            "csrf_token": token,
            "name": MODEL,
            "vendor": "openai",
            "cost_per_1m_input": "9.5",
            "cost_per_1m_output": "30",
            "price_source_name": "Our negotiated rate",
            "price_source_url": "https://contracts.example/openai",
            "is_active": "on",
        },
    )
    assert saved.status_code == 303, saved.text
    await session.rollback()
    changes = list(
        await session.scalars(
            select(PriceHistory)
            .where(PriceHistory.deployment_id == dep_id)
            .order_by(PriceHistory.changed_at)
        )
    )
    assert [c.via for c in changes] == ["seed", "admin"]
    assert (changes[1].old_input, changes[1].new_input) == (10.0, 9.5)
    assert changes[1].changed_by == "123@123.com"

    page = await admin_client.get(f"/models/{model_id}/prices")
    assert '<a href="https://contracts.example/openai" rel="noopener noreferrer">' in page.text
    assert (
        "Our negotiated rate" in page.text and "admin" in page.text and "123@123.com" in page.text
    )


async def test_a_bad_source_url_is_refused_on_the_admin_page(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    deployment = await _gpt4(session)
    dep_id = deployment.id
    refused = await admin_client.post(
        f"/admin/catalog/deployments/{dep_id}",
        data={
            "csrf_token": admin_client.headers["x-test-csrf"],
            "cost_per_1m_input": "1",
            "price_source_url": "javascript:alert(1)",
            "is_active": "on",
        },
    )
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in refused.text
    await session.rollback()
    row = await session.get(ModelDeployment, dep_id)
    assert row is not None and row.cost_per_1m_input == 10.0
    history = await session.scalars(
        select(PriceHistory.via).where(PriceHistory.deployment_id == dep_id)
    )
    assert list(history) == ["seed"]


async def test_a_refused_vendor_leaves_the_price_of_the_same_form_unsaved(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The form writes the deployment and its base model: both are validated before either
    is written, so a refused vendor does not leave the new price saved on its own."""
    deployment = await _gpt4(session)
    dep_id = deployment.id
    refused = await admin_client.post(
        f"/admin/catalog/deployments/{dep_id}",
        data={
            "csrf_token": admin_client.headers["x-test-csrf"],
            "name": MODEL,
            "vendor": "v" * 101,  # over the 100 characters a vendor may have
            "cost_per_1m_input": "1",
            "cost_per_1m_output": "2",
            "is_active": "on",
        },
    )
    assert refused.status_code == 422
    await session.rollback()
    row = await session.get(ModelDeployment, dep_id)
    assert row is not None and (row.cost_per_1m_input, row.cost_per_1m_output) == (10.0, 30.0)
    history = await session.scalars(
        select(PriceHistory.via).where(PriceHistory.deployment_id == dep_id)
    )
    assert list(history) == ["seed"]


async def test_the_admin_catalog_page_shows_the_price_check(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    page = await admin_client.get("/admin/catalog")
    assert page.status_code == 200
    assert 'id="price-check"' in page.text
    assert "<strong>0</strong> without a price" in page.text  # the seed prices every one

    qwen = await session.scalar(
        select(ModelDeployment).where(
            ModelDeployment.deployment_id == "Qwen/Qwen2.5-7B-Instruct-Turbo"
        )
    )
    assert qwen is not None
    qwen.price_as_of = date(2024, 12, 15)  # a price read long ago
    await session.commit()
    page = await admin_client.get("/admin/catalog")
    assert 'aria-label="Price check"' in page.text
    assert "read 2024-12-15, over 180 days" in page.text


async def test_the_price_page_of_an_unknown_model_is_a_404(
    user_client: httpx.AsyncClient,
) -> None:
    page = await user_client.get("/models/no-such-model/prices")
    assert page.status_code == 404
    assert "Model not found" in page.text


async def test_the_comparison_prices_calls_from_the_region_filtered_on(
    user_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    deployment = await _gpt4(session)
    model_id = deployment.base_model_id
    await record_price_change(
        session=session,
        deployment=deployment,
        price=Price(12.5, 30.0),
        source=PriceSource(PriceSourceKind.OPERATOR, "EU rate"),
        via=ChangeVia.CLI,
        region="eu",
    )
    await session.commit()
    mix = {"model": model_id, "input_tokens": "1000000", "output_tokens": "0"}
    everywhere = await user_client.get("/models", params=mix)
    assert "$10" in everywhere.text and "$12.5" not in everywhere.text
    from_eu = await user_client.get("/models", params={**mix, "region": "eu-west-1"})
    assert "called from <strong>eu-west-1</strong>" in from_eu.text
    assert "$12.5" in from_eu.text
