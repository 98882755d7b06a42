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
from myia.db.models import BaseModel, ModelDeployment, Provider
from myia.errors import NotFoundError

TOKENS_PER_PRICE_UNIT = 1_000_000
# Prices are per million tokens; rounding hides float noise (0.1 + 0.2) without losing a cent.
_DIGITS = 10


def token_cost(tokens: int, cost_per_1m: float | None) -> float | None:
    """None when the price is unknown: an unpriced deployment is never free."""
    if cost_per_1m is None:
        return None
    return round(tokens / TOKENS_PER_PRICE_UNIT * cost_per_1m, _DIGITS)


def quote(deployment: ModelDeployment, query: PriceQuery) -> PriceQuote:
    """Needs `deployment.provider` loaded."""
    input_cost = token_cost(query.input_tokens, deployment.cost_per_1m_input)
    output_cost = token_cost(query.output_tokens, deployment.cost_per_1m_output)
    return PriceQuote(
        id=deployment.id,
        deployment_id=deployment.deployment_id,
        inference_type=deployment.inference_type,
        provider_id=deployment.provider_id,
        provider_slug=deployment.provider.slug,
        provider_name=deployment.provider.name,
        is_simulated=deployment.provider.is_simulated,
        cost_per_1m_input=deployment.cost_per_1m_input,
        cost_per_1m_output=deployment.cost_per_1m_output,
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
        quotes = sorted(
            (quote(row, query) for row in rows),
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
    key = ("compare-prices", model_id, query.input_tokens, query.output_tokens)
    return await cache.get_or_load(DEPLOYMENTS, key, load)
