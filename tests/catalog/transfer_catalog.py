"""A catalog that uses every field the catalog file carries, for the export/import tests.

On top of the seed (bundled prices with their sources): a simulated provider with a base URL,
a base model with default params, Unicode prose and a release date, and deployments with a
provider_config, custom params, capability overrides, regional prices with their own sources,
an hourly price, an unpriced one and an inactive one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from myia.catalog.price_history import ChangeVia, Price, PriceSource, record_price_change
from myia.db.enums import AuthType, CapabilitiesSource, InferenceType, PriceSourceKind
from myia.db.models import BaseModel, ModelDeployment, Provider

PROFILE_ID = "eu.acme.anvil-pro-v1:0"


async def add_rich_catalog(session: AsyncSession) -> None:
    provider = Provider(
        slug="acme-sim",
        name="Acme (simulated) — Zürich",
        base_url="http://127.0.0.1:8900/acme/v1",
        auth_type=AuthType.AWS_CREDENTIALS,
        is_simulated=True,
    )
    model = BaseModel(
        name="Anvil Pro",
        vendor="acme",
        family="anvil",
        version="1.0",
        capabilities={"streaming": True, "vision": True, "max_context_window": 200_000},
        default_params={"top_p": 0.9, "temperature": 0.5, "stop": ["END"]},
        description="Modèle d'essai: “quotes”, ünïcode, a: colon\nand a second line.",
        release_date=datetime(2025, 3, 1, tzinfo=UTC),
        replaced_by="Anvil Pro 2",
    )
    old = BaseModel(name="Anvil Legacy", vendor="acme", deprecated=True, capabilities={})
    session.add_all([provider, model, old])
    await session.flush()
    profile = ModelDeployment(
        base_model_id=model.id,
        provider_id=provider.id,
        deployment_id=PROFILE_ID,
        inference_type=InferenceType.INFERENCE_PROFILE,
        provider_config={
            "regions": ["eu-west-1", "eu-central-1"],
            "inference_profiles": {"eu-west-1": PROFILE_ID},
        },
        custom_params={"max_tokens": 512},
        capabilities={"vision": False, "max_output_tokens": 4096},
        capabilities_verified_at=datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
        capabilities_source=CapabilitiesSource.AUTO_TEST,
    )
    provisioned = ModelDeployment(
        base_model_id=model.id,
        provider_id=provider.id,
        deployment_id="arn:aws:bedrock:eu-west-1:123456789012:provisioned-model/anvil",
        inference_type=InferenceType.PROVISIONED,
    )
    unpriced = ModelDeployment(
        base_model_id=old.id, provider_id=provider.id, deployment_id="acme.anvil-legacy"
    )
    inactive = ModelDeployment(
        base_model_id=old.id,
        provider_id=provider.id,
        deployment_id="acme.anvil-legacy-2",
        is_active=False,
    )
    session.add_all([profile, provisioned, unpriced, inactive])
    await session.flush()
    page = PriceSource(
        PriceSourceKind.BUNDLED, "Acme pricing", "https://acme.example/pricing", date(2026, 11, 2)
    )
    await record_price_change(
        session=session,
        deployment=profile,
        price=Price(3.0, 15.0),
        source=page,
        via=ChangeVia.SEED,
    )
    for region, price in (("eu", Price(3.3, 16.5)), ("eu-central-1", Price(3.5, 17.25))):
        await record_price_change(
            session=session,
            deployment=profile,
            price=price,
            source=PriceSource(PriceSourceKind.OPERATOR, None, None, date(2026, 12, 1)),
            via=ChangeVia.SEED,
            region=region,
        )
    await record_price_change(
        session=session,
        deployment=provisioned,
        price=Price(None, None, 21.5),
        source=PriceSource(PriceSourceKind.OPERATOR, "our contract", None, date(2026, 10, 1)),
        via=ChangeVia.SEED,
    )
    await session.commit()
