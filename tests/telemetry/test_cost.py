"""Cost per call from prices per 1M tokens: exact, and never a silent $0."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from myia.telemetry.cost import NO_USAGE_REASON, UNPRICED_REASON, cost_usd, priced

TOKENS = st.integers(min_value=0, max_value=10_000_000)
PRICES = st.floats(min_value=0, max_value=1000, allow_nan=False, allow_infinity=False)


@given(TOKENS, TOKENS, PRICES, PRICES)
def test_cost_is_tokens_times_price_per_million(
    tokens_in: int, tokens_out: int, price_in: float, price_out: float
) -> None:
    assert cost_usd(tokens_in, tokens_out, price_in, price_out) == (
        (tokens_in * price_in + tokens_out * price_out) / 1_000_000
    )


@given(TOKENS, TOKENS, st.one_of(st.none(), PRICES), st.one_of(st.none(), PRICES))
def test_an_unknown_price_gives_an_unknown_cost_with_its_reason(
    tokens_in: int, tokens_out: int, price_in: float | None, price_out: float | None
) -> None:
    result = priced(tokens_in, tokens_out, price_in, price_out)
    if price_in is None or price_out is None:
        assert result.cost is None and result.reason == UNPRICED_REASON
    else:
        assert result.cost is not None and result.reason is None


def test_no_usage_is_not_free() -> None:
    assert priced(None, 10, 1.0, 2.0).reason == NO_USAGE_REASON
    assert cost_usd(None, 10, 1.0, 2.0) is None
