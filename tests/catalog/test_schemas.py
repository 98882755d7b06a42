"""Catalog shapes without a database: capability merging, filters, cost arithmetic."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from myia.catalog.filters import BaseModelFilters, DeploymentFilters
from myia.catalog.pricing import token_cost
from myia.catalog.schemas import (
    BaseModelUpdate,
    Capabilities,
    DeploymentCreate,
    ProviderCreate,
    merge_capabilities,
)


def test_effective_capabilities_are_the_base_overridden_key_by_key() -> None:
    base = {"streaming": True, "vision": True, "max_context_window": 200_000}
    merged = merge_capabilities(
        base, {"vision": False, "max_output_tokens": 4096, "json_output": None}
    )
    assert merged == Capabilities(
        streaming=True, vision=False, max_context_window=200_000, max_output_tokens=4096
    )
    assert merge_capabilities(base, None) == Capabilities.from_stored(base)
    assert merge_capabilities(None, None) == Capabilities()


def test_stored_capabilities_tolerate_keys_from_newer_writers() -> None:
    stored = {"vision": True, "audio_input": True, "max_output_tokens": None}
    assert Capabilities.from_stored(stored) == Capabilities(vision=True)


def test_filters_normalise_capabilities_so_equal_queries_share_a_cache_key() -> None:
    one = BaseModelFilters(capability=["vision", "tool_calling", "vision"])
    other = BaseModelFilters(capability=["tool_calling", "vision"])
    assert one.capability == ["tool_calling", "vision"]
    assert one.cache_key() == other.cache_key()
    # Same values, different query shape: never the same entry.
    assert BaseModelFilters().cache_key() != DeploymentFilters().cache_key()
    assert BaseModelFilters(page=3, page_size=20).offset == 40


def test_unknown_capability_names_the_parameter() -> None:
    with pytest.raises(ValidationError) as caught:
        DeploymentFilters(capability=["vision", "telepathy"])
    [error] = caught.value.errors()
    assert error["loc"] == ("capability",)
    assert "telepathy" in error["msg"]


@pytest.mark.parametrize(
    ("tokens", "per_million", "cost"),
    [(1000, 3.0, 0.003), (1_000_000, 15.0, 15.0), (0, 99.0, 0.0), (3, 0.1, 0.0000003)],
)
def test_token_cost_is_per_million(tokens: int, per_million: float, cost: float) -> None:
    assert token_cost(tokens, per_million) == cost


def test_inputs_refuse_unknown_fields_and_bad_values() -> None:
    with pytest.raises(ValidationError):
        ProviderCreate.model_validate({"slug": "-bad", "name": "x", "auth_type": "api_key"})
    with pytest.raises(ValidationError):
        DeploymentCreate.model_validate(
            {"base_model_id": "m", "provider_id": "p", "deployment_id": "d",
             "cost_per_1m_input": float("inf"), "cost_per_1m_output": 1}
        )  # fmt: skip
    with pytest.raises(ValidationError):
        BaseModelUpdate.model_validate({"name": None})
    assert BaseModelUpdate.model_validate({"family": None}).model_dump(exclude_unset=True) == {
        "family": None
    }
