"""The cost of one call from a deployment's prices per million tokens.

A price that is not known is `None`, never 0: a call to an unpriced deployment costs "unknown"
(null, with the reason), so that it is never counted as free in totals or comparisons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from myia.providers.bedrock.model_ids import geography_for_region

PER_TOKENS = 1_000_000
UNPRICED_REASON = "the deployment has no known price per 1M tokens"
NO_USAGE_REASON = "the provider reported no token usage"


def cost_usd(
    tokens_in: int | None,
    tokens_out: int | None,
    price_in_per_1m: float | None,
    price_out_per_1m: float | None,
) -> float | None:
    """in × price_in / 1M + out × price_out / 1M, or None when a price or a count is unknown."""
    return priced(tokens_in, tokens_out, price_in_per_1m, price_out_per_1m).cost


@dataclass(frozen=True)
class Priced:
    cost: float | None
    reason: str | None  # why `cost` is None; None when it is known


def priced(
    tokens_in: int | None,
    tokens_out: int | None,
    price_in_per_1m: float | None,
    price_out_per_1m: float | None,
) -> Priced:
    if price_in_per_1m is None or price_out_per_1m is None:
        return Priced(None, UNPRICED_REASON)
    if tokens_in is None or tokens_out is None:
        return Priced(None, NO_USAGE_REASON)
    cost = (tokens_in * price_in_per_1m + tokens_out * price_out_per_1m) / PER_TOKENS
    return Priced(cost, None)


RegionalPrices = Mapping[str, tuple[float, float]]
NO_REGIONAL_PRICES: RegionalPrices = MappingProxyType({})


def price_in_region(
    price_in_per_1m: float | None,
    price_out_per_1m: float | None,
    regional: RegionalPrices,
    region: str | None,
) -> tuple[float | None, float | None]:
    """The price of a call made from `region`: that region's own price, else its
    geography's (`eu` for eu-west-1, as Bedrock's cross-region profiles name them), else the
    deployment's price everywhere. `regional` is keyed by region or geography, lower case."""
    if regional and region:
        region = region.lower()
        found = regional.get(region) or regional.get(geography_for_region(region))
        if found is not None:
            return found
    return price_in_per_1m, price_out_per_1m
