"""Scenario files: validation, derived claims and profiles, and the ground truth."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from myia.sim import Outcome, Scenario, load_scenario
from myia.sim.scenario import FixedLatency, LognormalLatency
from tests.sim.conftest import (
    CLAUDE_V2,
    LLAMA,
    MISTRAL,
    NOVA_MICRO,
    SCENARIOS,
    SONNET,
    SONNET_4,
    TITAN_EMBED,
    scenario_of,
)

US, EU = "us-east-1", "eu-west-1"


@pytest.mark.parametrize(
    ("model_id", "region", "expected"),
    [
        (SONNET, US, Outcome.works()),
        (SONNET, EU, Outcome.works()),
        (f"us.{SONNET}", US, Outcome.works()),
        (f"eu.{SONNET}", US, Outcome.absent()),  # a profile of another geography
        (SONNET_4, US, Outcome.works()),  # profile-only still works, through its profile
        (f"global.{SONNET_4}", EU, Outcome.works()),
        (MISTRAL, US, Outcome.lacks({"tools"})),
        (NOVA_MICRO, US, Outcome.works()),
        (NOVA_MICRO, EU, Outcome.absent()),
        (LLAMA, US, Outcome.works()),
        (LLAMA, EU, Outcome.denied()),
        (CLAUDE_V2, US, Outcome.eol()),
        (TITAN_EMBED, US, Outcome.unsupported()),
        ("no.such-model-v1:0", US, Outcome.absent()),
        (SONNET, "ap-southeast-2", Outcome.absent()),  # a region the scenario lacks
        ("gpt-4o", "openai", Outcome.works()),
        ("gpt-3.5-turbo", "openai", Outcome.lacks({"json"})),
        ("gpt-9", "openai", Outcome.absent()),
    ],
)
def test_expected_outcome(
    basic_scenario: Scenario, model_id: str, region: str, expected: Outcome
) -> None:
    assert basic_scenario.expected_outcome(model_id, region) == expected


def test_outcome_reads_well() -> None:
    assert str(Outcome.lacks({"vision", "tools"})) == "lacks(tools, vision)"
    assert str(Outcome.denied()) == "denied"


def test_claims_follow_the_listing(basic_scenario: Scenario) -> None:
    sonnet, mistral, titan = (basic_scenario.model(i) for i in (SONNET, MISTRAL, TITAN_EMBED))
    assert sonnet is not None and mistral is not None and titan is not None
    assert sonnet.claims.vision and sonnet.claims.tools and sonnet.claims.streaming
    assert not mistral.claims.vision, "no IMAGE input modality, no vision claim"
    assert mistral.claims.tools and not mistral.works("tools")
    assert not (titan.claims.tools or titan.claims.streaming or titan.is_chat)


def test_explicit_claims_win() -> None:
    scenario = scenario_of(
        regions=["us-east-1"],
        models=[{"id": "m", "provider": "X", "claims": {"tools": False, "json": False}}],
    )
    model = scenario.models[0]
    assert (model.claims.tools, model.claims.json_output, model.claims.system) == (
        False,
        False,
        True,
    )
    assert model.claims.capabilities() == {"system", "streaming"}


def test_profiles_per_geography(basic_scenario: Scenario) -> None:
    us = {p.id for p in basic_scenario.profiles_in(US)}
    eu = {p.id for p in basic_scenario.profiles_in(EU)}
    assert {f"us.{SONNET}", f"us.{SONNET_4}", f"global.{SONNET_4}", f"us.{NOVA_MICRO}"} == us
    assert {f"eu.{SONNET}", f"eu.{SONNET_4}", f"global.{SONNET_4}"} == eu
    profile = next(p for p in basic_scenario.profiles_in(US) if p.id == f"global.{SONNET_4}")
    assert profile.destinations == (US, EU)


def test_resolution_errors(basic_scenario: Scenario) -> None:
    on_demand = basic_scenario.resolve(SONNET_4, US)
    assert on_demand.error == "ValidationException"
    assert "on-demand throughput isn’t supported" in on_demand.message
    arn = f"arn:aws:bedrock:{US}:123456789012:inference-profile/us.{SONNET_4}"
    assert basic_scenario.resolve(arn, US).ok
    assert basic_scenario.resolve(f"arn:aws:bedrock:{US}::foundation-model/{SONNET}", US).ok


def test_latency_shorthand_and_kinds() -> None:
    scenario = scenario_of(
        defaults={
            "latency": 25,
            "time_to_first_token": {"kind": "lognormal", "p50_ms": 10, "p99_ms": 40},
        },
    )
    assert scenario.defaults.latency == FixedLatency(ms=25)
    assert isinstance(scenario.defaults.time_to_first_token, LognormalLatency)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"modles": []}, "modles"),
        ({"models": [{"id": "m", "provider": "X", "fualts": ["tools"]}]}, "fualts"),
        ({"models": [{"id": "m", "provider": "X", "faults": ["telepathy"]}]}, "faults"),
        ({"models": [{"id": "m", "provider": "X", "lifecycle": "DEAD"}]}, "lifecycle"),
        ({"models": [{"id": "m", "provider": "X", "failure_rate": 2}]}, "failure_rate"),
        ({"defaults": {"latency": {"kind": "uniform", "min_ms": 9, "max_ms": 1}}}, "max_ms"),
        ({"models": [{"id": "m", "provider": "X", "regions": ["mars-1"]}]}, "mars-1"),
        ({"openai_providers": [{"slug": "model"}]}, "reserved"),
    ],
)
def test_validation_errors_name_the_field(fields: dict[str, object], named: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Scenario.model_validate(fields)
    assert named in str(caught.value)


def test_duplicate_model_ids_are_refused() -> None:
    twice = [{"id": "m", "provider": "X"}, {"id": "m", "provider": "Y"}]
    with pytest.raises(ValidationError, match="duplicate id 'm'"):
        Scenario.model_validate({"models": twice})


def test_load_scenario_names_it_after_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text("regions: [us-east-1]\nmodels:\n  - {id: m, provider: X}\n")
    scenario = load_scenario(path)
    assert scenario.name == "tiny" and list(scenario.regions) == ["us-east-1"]
    path.write_text("- just\n- a list\n")
    with pytest.raises(ValueError, match="mapping"):
        load_scenario(path)


def test_demo_scenario_is_a_realistic_catalog() -> None:
    demo = load_scenario(SCENARIOS / "demo.yaml")
    assert len(demo.models) >= 100
    assert set(demo.regions) == {"us-east-1", "us-west-2", "eu-west-1"}
    for sonic in ("amazon.nova-sonic-v1:0", "amazon.nova-2-sonic-v1:0"):
        model = demo.model(sonic)
        assert model is not None and "SPEECH" in model.output_modalities
    vendors = {m.provider for m in demo.models}
    assert {"Anthropic", "Amazon", "Meta", "Mistral AI", "Cohere", "AI21 Labs"} <= vendors
    assert sum(m.provider == "Mistral AI" for m in demo.models) >= 11
    profile_only = {m.id for m in demo.models if m.inference_types == ["INFERENCE_PROFILE"]}
    assert {"anthropic.claude-3-7-sonnet-20250219-v1:0", SONNET_4} <= profile_only
    outcomes = {str(demo.expected_outcome(m.id, r)) for m in demo.models for r in demo.regions}
    assert {
        "works",
        "absent",
        "denied",
        "eol",
        "unsupported",
        "lacks(tools)",
        "lacks(vision)",
        "lacks(json)",
    } <= outcomes
    assert [m.id for m in demo.models if m.lifecycle == "LEGACY"] == [
        "anthropic.claude-3-sonnet-20240229-v1:0"
    ]
    slugs = {p.slug: p for p in demo.openai_providers}
    assert set(slugs) == {"openai", "groq", "together"}
    assert slugs["together"].models_shape == "together"
    assert {m.id for m in slugs["openai"].models} == {
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4-turbo",
        "gpt-3.5-turbo",
    }


def test_system_prompts_are_a_baseline() -> None:
    scenario = scenario_of(
        regions=["us-east-1"],
        models=[
            {"id": "a.nosys-v1", "provider": "A", "claims": {"system": False}},
            {"id": "a.badsys-v1", "provider": "A", "faults": ["system", "vision"]},
        ],
    )
    # Certification tests system prompts on every chat model, so not supporting them is a
    # gap whether or not it is claimed; an unclaimed vision fault changes nothing.
    for model_id in ("a.nosys-v1", "a.badsys-v1"):
        assert scenario.expected_outcome(model_id, "us-east-1") == Outcome.lacks({"system"})
