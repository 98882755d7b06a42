"""Price comparison: what one base model costs on each provider for a given token mix.

Only deployments that can serve traffic are compared: the deployment is active and so is its
provider (a deactivated provider is not an option, however cheap).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager

from myia.catalog.cache import DEPLOYMENTS, CatalogCache
from myia.catalog.filters import PriceQuery
from myia.catalog.schemas import PriceComparison, PriceQuote
from myia.db.models import BaseModel, DeploymentPrice, ModelDeployment, Provider
from myia.errors import NotFoundError
from myia.telemetry.cost import NO_REGIONAL_PRICES, RegionalPrices, price_in_region

TOKENS_PER_PRICE_UNIT = 1_000_000
# Prices are per million tokens; rounding hides float noise (0.1 + 0.2) without losing a cent.
_DIGITS = 10


def token_cost(tokens: int, cost_per_1m: float | None) -> float | None:
    """None when the price is unknown: an unpriced deployment is never free."""
    if cost_per_1m is None:
        return None
    return round(tokens / TOKENS_PER_PRICE_UNIT * cost_per_1m, _DIGITS)


def quote(
    deployment: ModelDeployment,
    query: PriceQuery,
    regional: RegionalPrices = NO_REGIONAL_PRICES,
) -> PriceQuote:
    """Needs `deployment.provider` loaded; `regional`: its prices by region or geography."""
    price_in, price_out = price_in_region(
        deployment.cost_per_1m_input, deployment.cost_per_1m_output, regional, query.region
    )
    input_cost = token_cost(query.input_tokens, price_in)
    output_cost = token_cost(query.output_tokens, price_out)
    return PriceQuote(
        id=deployment.id,
        deployment_id=deployment.deployment_id,
        inference_type=deployment.inference_type,
        provider_id=deployment.provider_id,
        provider_slug=deployment.provider.slug,
        provider_name=deployment.provider.name,
        is_simulated=deployment.provider.is_simulated,
        cost_per_1m_input=price_in,
        cost_per_1m_output=price_out,
        price_source_kind=deployment.price_source_kind,
        price_source_name=deployment.price_source_name,
        price_as_of=deployment.price_as_of,
        input_cost=input_cost,
        output_cost=output_cost,
        total_cost=None
        if input_cost is None or output_cost is None
        else round(input_cost + output_cost, _DIGITS),
        priced=input_cost is not None and output_cost is not None,
    )


async def compare_prices(
    *, session: AsyncSession, cache: CatalogCache, model_id: str, query: PriceQuery
) -> PriceComparison:
    """Active deployments of the model, cheapest first, unpriced last (ties: slug, id)."""

    async def load() -> PriceComparison:
        model = await session.scalar(select(BaseModel).where(BaseModel.id == model_id))
        if model is None:
            raise NotFoundError("base model", model_id)
        rows = await session.scalars(
            select(ModelDeployment)
            .join(ModelDeployment.provider)
            .where(
                ModelDeployment.base_model_id == model_id,
                ModelDeployment.is_active.is_(True),
                Provider.is_active.is_(True),
            )
            .options(contains_eager(ModelDeployment.provider))
        )
        found = list(rows)
        regional: dict[str, dict[str, tuple[float, float]]] = {}
        if query.region is not None and found:
            prices = await session.execute(
                select(
                    DeploymentPrice.deployment_id,
                    DeploymentPrice.region,
                    DeploymentPrice.cost_per_1m_input,
                    DeploymentPrice.cost_per_1m_output,
                ).where(DeploymentPrice.deployment_id.in_([row.id for row in found]))
            )
            for deployment_id, region, price_in, price_out in prices:
                regional.setdefault(deployment_id, {})[region] = (price_in, price_out)
        quotes = sorted(
            (quote(row, query, regional.get(row.id, NO_REGIONAL_PRICES)) for row in found),
            key=lambda q: (q.total_cost is None, q.total_cost or 0.0, q.provider_slug, q.id),
        )
        return PriceComparison(
            base_model_id=model.id,
            base_model_name=model.name,
            input_tokens=query.input_tokens,
            output_tokens=query.output_tokens,
            items=quotes,
        )

    # Filed under deployments: every write that changes a price or a provider name clears it.
    key = ("compare-prices", model_id, query.input_tokens, query.output_tokens, query.region)
    return await cache.get_or_load(DEPLOYMENTS, key, load)
