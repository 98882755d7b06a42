"""The shipped pricing file: every entry sourced and dated, lookups tolerant of Bedrock ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from myia.errors import InvalidInputError
from myia.maintenance.pricing_file import (
    default_pricing,
    load_pricing,
    price_for,
    price_key,
)

BASIC_MODELS = {
    ("openai", "gpt-4-turbo"): (10.00, 30.00),
    ("openai", "gpt-3.5-turbo"): (0.50, 1.50),
    ("groq", "llama-3.3-70b-versatile"): (0.59, 0.79),
    ("groq", "llama-3.1-8b-instant"): (0.05, 0.08),
    ("together", "meta-llama/Llama-3-70b-chat-hf"): (0.88, 0.88),
    ("together", "Qwen/Qwen1.5-72B-Chat"): (0.90, 0.90),
}

LIST_PRICES = {  # PROTOCOLS.md, us-east-1 on-demand
    ("bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0"): (3.00, 15.00),
    ("bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0"): (0.80, 4.00),
    ("bedrock", "anthropic.claude-3-7-sonnet-20250219-v1:0"): (3.00, 15.00),
    ("bedrock", "anthropic.claude-sonnet-4-20250514-v1:0"): (3.00, 15.00),
    ("bedrock", "amazon.nova-micro-v1:0"): (0.035, 0.14),
    ("bedrock", "amazon.nova-lite-v1:0"): (0.06, 0.24),
    ("bedrock", "amazon.nova-pro-v1:0"): (0.80, 3.20),
    ("bedrock", "meta.llama3-1-8b-instruct-v1:0"): (0.22, 0.22),
    ("bedrock", "meta.llama3-1-70b-instruct-v1:0"): (0.72, 0.72),
    ("bedrock", "mistral.mistral-large-2407-v1:0"): (2.00, 6.00),
    ("bedrock", "mistral.mistral-large-2402-v1:0"): (4.00, 12.00),
    ("bedrock", "cohere.command-r-plus-v1:0"): (3.00, 15.00),
    ("openai", "gpt-4o"): (2.50, 10.00),
    ("openai", "gpt-4o-mini"): (0.15, 0.60),
}


@pytest.mark.parametrize(("key", "expected"), [*BASIC_MODELS.items(), *LIST_PRICES.items()])
def test_listed_prices(key: tuple[str, str], expected: tuple[float, float]) -> None:
    assert price_for(*key) == expected


def test_every_entry_has_a_source_and_a_date() -> None:
    entries = [e for models in default_pricing().providers.values() for e in models.values()]
    assert len(entries) >= len(BASIC_MODELS) + len(LIST_PRICES)
    assert all(e.source.startswith("https://") and e.as_of.year >= 2024 for e in entries)


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("us.anthropic.claude-3-5-sonnet-20241022-v2:0", (3.00, 15.00)),
        ("eu.anthropic.claude-3-7-sonnet-20250219-v1:0", (3.00, 15.00)),
        ("apac.amazon.nova-pro-v1:0", (0.80, 3.20)),
        ("global.anthropic.claude-sonnet-4-20250514-v1:0", (3.00, 15.00)),
        ("us-gov.meta.llama3-1-70b-instruct-v1:0", (0.72, 0.72)),
        ("amazon.nova-lite-v1:0:300k", (0.06, 0.24)),  # context-window variant
        ("anthropic.claude-3-5-haiku-20241022", (0.80, 4.00)),  # no version suffix
        ("ANTHROPIC.CLAUDE-3-5-HAIKU-20241022-V1:0", (0.80, 4.00)),
    ],
)
def test_bedrock_ids_are_normalised(model_id: str, expected: tuple[float, float]) -> None:
    assert price_for("bedrock", model_id) == expected


@pytest.mark.parametrize(
    ("provider", "model_id"),
    [
        ("bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0"),  # another model, not a revision
        ("bedrock", "us.amazon.nova-sonic-v1:0"),
        ("azure", "gpt-4o"),  # provider not in the file
        ("openai", "ft:gpt-4o:acme:1234"),  # a fine-tune is not the base model's price
        ("groq", "gpt-4o"),
    ],
)
def test_unknown_models_have_no_price(provider: str, model_id: str) -> None:
    assert price_for(provider, model_id) is None


def test_normalisation_keeps_organisation_prefixed_ids() -> None:
    assert price_key("us.anthropic.claude-3-5-sonnet-20241022-v2:0") == (
        "anthropic.claude-3-5-sonnet-20241022"
    )
    assert price_key("meta-llama/Llama-3-70b-chat-hf") == "meta-llama/llama-3-70b-chat-hf"


def test_entry_keeps_source_and_date() -> None:
    entry = default_pricing().entry_for("bedrock", "us.amazon.nova-micro-v1:0")
    assert entry is not None
    assert "aws.amazon.com" in entry.source
    assert entry.as_of.isoformat() == "2026-11-01"


def test_a_broken_file_names_itself(tmp_path: Path) -> None:
    path = tmp_path / "pricing.yaml"
    path.write_text("providers:\n  openai:\n    gpt-4o: {input: 1.0}\n")
    with pytest.raises(InvalidInputError, match=r"pricing\.yaml"):
        load_pricing(path)
