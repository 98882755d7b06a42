"""Scenario files: which models exist where, how fast they answer and what is broken.

A scenario is the simulator's whole world, and the ground truth the certification tests
assert against (`Scenario.expected_outcome`), so every rule about "does model M work in
region R" lives here or in `myia.sim.outcome`, never in the HTTP layers. The declared data is
in `myia.sim.spec` (re-exported here); this module adds the ground-truth methods on top.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from myia.sim.outcome import Outcome, Resolution, expected_outcome, resolve
from myia.sim.profiles import Profile, profiles_in_region
from myia.sim.spec import (
    CAPABILITIES,
    RESERVED_SLUGS,
    BedrockModel,
    Capability,
    Claims,
    Defaults,
    FailureKind,
    FixedLatency,
    InferenceType,
    Latency,
    Lifecycle,
    LognormalLatency,
    Modality,
    ModelSpec,
    ModelsShape,
    OpenAIModel,
    OpenAIProvider,
    Pricing,
    Quota,
    Region,
    ScenarioSpec,
    UniformLatency,
)

__all__ = [
    "CAPABILITIES",
    "RESERVED_SLUGS",
    "BedrockModel",
    "Capability",
    "Claims",
    "Defaults",
    "FailureKind",
    "FixedLatency",
    "InferenceType",
    "Latency",
    "Lifecycle",
    "LognormalLatency",
    "Modality",
    "ModelSpec",
    "ModelsShape",
    "OpenAIModel",
    "OpenAIProvider",
    "Pricing",
    "Quota",
    "Region",
    "Scenario",
    "ScenarioSpec",
    "UniformLatency",
    "load_scenario",
]


class Scenario(ScenarioSpec):
    def profiles_in(self, region: str) -> list[Profile]:
        return profiles_in_region(self, region)

    # --- ground truth --------------------------------------------------------------------
    def resolve(self, identifier: str, region: str) -> Resolution:
        """What Bedrock answers when `identifier` is invoked from `region`."""
        return resolve(self, identifier, region)

    def expected_outcome(self, model_id: str, region: str) -> Outcome:
        """What certifying `model_id` in `region` (or OpenAI provider slug) must conclude."""
        return expected_outcome(self, model_id, region)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file; errors name the offending field."""
    source = Path(path)
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"{source}: a scenario must be a mapping at the top level")
    data.setdefault("name", source.stem)
    return Scenario.model_validate(data)
