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
    ("together", "openai/gpt-oss-120b"): (0.15, 0.60),
    ("together", "Qwen/Qwen2.5-7B-Instruct-Turbo"): (0.30, 0.30),
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
        ("bedrock", "anthropic.claude-3-5-sonnet-20991231-v1:0"),  # another model, not a revision
        ("bedrock", "zai.glm-4.6"),  # AWS publishes no price (mantle-only): never estimated
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


def test_named_sources_resolve_to_their_page() -> None:
    entry = default_pricing().entry_for("bedrock", "qwen.qwen3-32b-v1:0")
    assert entry is not None
    assert entry.source.startswith("https://github.com/BerriAI/litellm/blob/")
    assert entry.source_name is not None and "LiteLLM" in entry.source_name
    assert entry.as_of.isoformat() == "2026-12-04"


def test_regional_prices_cite_their_own_source_or_the_entry() -> None:
    nova = default_pricing().entry_for("bedrock", "amazon.nova-lite-v1:0")
    assert nova is not None and "aws.amazon.com" in nova.source  # the entry: AWS's page
    eu = nova.regions["eu"]
    assert (eu.input, eu.output) == (0.078, 0.312)
    assert eu.source is not None and "BerriAI/litellm" in eu.source  # its own source
    sonnet = default_pricing().entry_for("bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert sonnet is not None
    us = sonnet.regions["us"]
    assert (us.input, us.output) == (3.30, 16.50)
    assert (us.source, us.as_of) == (sonnet.source, sonnet.as_of)  # the entry's citation


def test_every_demo_chat_model_is_priced() -> None:
    """The demo scenario's chat models (what discovery adds) are all in the file."""
    from tests.catalog.discovery_sim import demo_file, expected_chat_models

    regions = list(demo_file()["regions"])
    models = set().union(*(expected_chat_models(region) for region in regions))
    missing = {m for m in models if price_for("bedrock", m) is None}
    assert missing == set()
    for provider in demo_file()["openai_providers"]:
        for model in provider["models"]:
            assert price_for(provider["slug"], model["id"]) is not None, model["id"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "providers:\n  openai:\n"
            "    gpt-4o: {input: 1, output: 2, source: nowhere, as_of: 2026-01-01}\n",
            "neither a key of `sources` nor an URL",
        ),
        (
            "providers:\n  openai:\n    gpt-4o: {input: 1, output: 2, source: 'https://x.test/',"
            " as_of: 2026-01-01, regions: {eu: {input: -1, output: 2}}}\n",
            "greater than or equal to 0",
        ),
        (
            "sources: {p: {name: P, url: 'http://insecure.test/'}}\nproviders: {}\n",
            "should match pattern",
        ),
    ],
)
def test_a_bad_citation_or_price_is_refused(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "pricing.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInputError, match=problem):
        load_pricing(path)
