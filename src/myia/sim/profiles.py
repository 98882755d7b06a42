"""Cross-region inference profiles, derived from the models rather than listed by hand."""

from __future__ import annotations

from dataclasses import dataclass

from myia.sim.geography import PROFILE_PREFIXES, geography
from myia.sim.spec import BedrockModel
from myia.sim.spec import ScenarioSpec as Scenario

__all__ = ["PROFILE_PREFIXES", "Profile", "geography", "profiles_in_region", "split_profile_id"]

GEOGRAPHY_LABELS = {
    "us": "US",
    "eu": "EU",
    "apac": "APAC",
    "global": "Global",
    "us-gov": "US-GOV",
    "jp": "JP",
    "au": "AU",
}


def strip_arn(identifier: str) -> str:
    """`arn:aws:bedrock:R:ACCT:inference-profile/us.X` or `…::foundation-model/X` → the id."""
    if identifier.startswith("arn:"):
        return identifier.rsplit("/", 1)[-1]
    return identifier


def split_profile_id(identifier: str) -> tuple[str | None, str]:
    for prefix in PROFILE_PREFIXES:
        if identifier.startswith(prefix + "."):
            return prefix, identifier[len(prefix) + 1 :]
    return None, identifier


def model_arn(region: str, model_id: str) -> str:
    return f"arn:aws:bedrock:{region}::foundation-model/{model_id}"


@dataclass(frozen=True)
class Profile:
    prefix: str
    model: BedrockModel
    destinations: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.prefix}.{self.model.id}"

    @property
    def name(self) -> str:
        return f"{GEOGRAPHY_LABELS.get(self.prefix, self.prefix.upper())} {self.model.display_name}"

    def arn(self, region: str, account_id: str) -> str:
        return f"arn:aws:bedrock:{region}:{account_id}:inference-profile/{self.id}"


def profiles_in_region(scenario: Scenario, region: str) -> list[Profile]:
    """Profiles callable from `region`: its geography's, plus global ones, sorted by id."""
    geo = scenario.geography(region)
    found: list[Profile] = []
    for model in scenario.models_in(region):
        if not (model.has_profiles and model.listed_in(region)):
            continue
        regions = scenario.model_regions(model)
        if geo is not None:
            local = tuple(r for r in regions if scenario.geography(r) == geo)
            found.append(Profile(geo, model, local))
        if model.global_profile:
            found.append(Profile("global", model, tuple(regions)))
    return sorted(found, key=lambda p: p.id)
