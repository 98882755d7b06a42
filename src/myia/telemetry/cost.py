"""The cost of one call from a deployment's prices per million tokens.

A price that is not known is `None`, never 0: a call to an unpriced deployment costs "unknown"
(null, with the reason), so that it is never counted as free in totals or comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass

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
