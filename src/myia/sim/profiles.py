"""Cross-region inference profiles, derived from the models rather than listed by hand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from myia.sim.scenario import BedrockModel, Scenario

# `us-gov` before `us` so that the longest prefix wins when splitting an id.
PROFILE_PREFIXES = ("us-gov", "global", "apac", "us", "eu", "jp", "au")
GEOGRAPHY_LABELS = {
    "us": "US",
    "eu": "EU",
    "apac": "APAC",
    "global": "Global",
    "us-gov": "US-GOV",
    "jp": "JP",
    "au": "AU",
}


def geography(region: str) -> str:
    """The profile prefix Bedrock uses for a region (Canada rides on `us`)."""
    if region.startswith("us-gov-"):
        return "us-gov"
    if region.startswith(("us-", "ca-")):
        return "us"
    if region.startswith("eu-"):
        return "eu"
    if region.startswith(("ap-", "me-")):
        return "apac"
    return region.split("-", 1)[0]


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
        local = tuple(r for r in regions if scenario.geography(r) == geo)
        found.append(Profile(geo, model, local))
        if model.global_profile:
            found.append(Profile("global", model, tuple(regions)))
    return sorted(found, key=lambda p: p.id)
