"""Ground truth: what invoking a model in a region does, shared by the wire and the tests.

`resolve` is what the Bedrock runtime routes call; `expected_outcome` is what a correct
certification must conclude. Both walk the same checks in the same order, so the simulator
and the assertions about it cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from myia.sim.profiles import split_profile_id, strip_arn
from myia.sim.spec import CAPABILITIES, BedrockModel, Capability, ModelSpec, OpenAIProvider
from myia.sim.spec import ScenarioSpec as Scenario

__all__ = ["CAPABILITIES", "Capability", "Outcome", "Resolution", "expected_outcome", "resolve"]

OutcomeKind = Literal["works", "lacks", "absent", "denied", "eol", "unsupported"]
# Certification's tool-call battery fails `tools` below this schema accuracy (valid calls ÷
# calls), so a model whose `tool_args_invalid_rate` exceeds 1 - this lacks `tools`.
TOOL_SCHEMA_ACCURACY_MIN = 0.9

INVALID_MODEL = "The provided model identifier is invalid."
END_OF_LIFE = (
    "This model version has reached the end of its life. "
    "Please refer to the AWS documentation for more details."
)
ACCESS_DENIED = "You don't have access to the model with the specified model ID."
ON_DEMAND_UNSUPPORTED = (
    "Invocation of model ID {model_id} with on-demand throughput isn’t supported. "
    "Retry your request with the ID or ARN of an inference profile that contains this model."
)


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    missing: frozenset[Capability] = field(default_factory=frozenset)

    @classmethod
    def works(cls) -> Outcome:
        return cls("works")

    @classmethod
    def lacks(cls, capabilities: set[Capability] | frozenset[Capability]) -> Outcome:
        return cls("lacks", frozenset(capabilities))

    @classmethod
    def absent(cls) -> Outcome:
        return cls("absent")

    @classmethod
    def denied(cls) -> Outcome:
        return cls("denied")

    @classmethod
    def eol(cls) -> Outcome:
        return cls("eol")

    @classmethod
    def unsupported(cls) -> Outcome:
        """Not a text-in/text-out model (embeddings, images, speech): Converse refuses it."""
        return cls("unsupported")

    def __str__(self) -> str:
        if self.kind == "lacks":
            return f"lacks({', '.join(sorted(self.missing))})"
        return self.kind


@dataclass(frozen=True)
class Resolution:
    """A runtime call's fate: the model to run, or the Bedrock error to answer with."""

    model: BedrockModel | None
    error: str | None = None
    message: str = ""
    profile: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _locate(
    scenario: Scenario, identifier: str, region: str
) -> tuple[OutcomeKind | None, BedrockModel | None, str | None]:
    """(failure kind or None, model, profile prefix)."""
    model_id = strip_arn(identifier)
    prefix: str | None = None
    model = scenario.model(model_id)
    if model is None:
        prefix, bare = split_profile_id(model_id)
        model = scenario.model(bare) if prefix else None
    if model is None or region not in scenario.model_regions(model):
        return "absent", model, prefix
    if prefix is not None:
        geo_ok = prefix == scenario.geography(region)
        global_ok = prefix == "global" and model.global_profile
        if not model.has_profiles or not (geo_ok or global_ok):
            return "absent", model, prefix
    if model.lifecycle_in(region) == "EOL":
        return "eol", model, prefix
    if region in model.access_denied_regions:
        return "denied", model, prefix
    return None, model, prefix


def resolve(scenario: Scenario, identifier: str, region: str) -> Resolution:
    kind, model, prefix = _locate(scenario, identifier, region)
    if kind == "absent":
        return Resolution(None, "ValidationException", INVALID_MODEL)
    if kind == "eol":
        return Resolution(model, "ResourceNotFoundException", END_OF_LIFE)
    if kind == "denied":
        return Resolution(model, "AccessDeniedException", ACCESS_DENIED)
    assert model is not None
    if prefix is None and not model.on_demand:
        message = ON_DEMAND_UNSUPPORTED.format(model_id=model.id)
        return Resolution(model, "ValidationException", message)
    return Resolution(model, profile=prefix)


def _capability_outcome(model: ModelSpec) -> Outcome:
    if not model.is_chat:
        return Outcome.unsupported()
    missing = {c for c in model.claims.capabilities() if not model.works(c)}
    # On the rate, not a measured accuracy; rounded so that a rate of 0.1 is at the bar.
    accuracy = round(1 - model.tool_args_invalid_rate, 9)
    if model.works("tools") and accuracy < TOOL_SCHEMA_ACCURACY_MIN:
        missing.add("tools")
    # System prompts are a baseline every chat model is tested on, claimed or not.
    if not model.works("system"):
        missing.add("system")
    return Outcome.lacks(missing) if missing else Outcome.works()


def _openai_outcome(provider: OpenAIProvider, model_id: str) -> Outcome:
    model = provider.model(model_id)
    if model is None:
        return Outcome.absent()
    if model.lifecycle == "EOL":
        return Outcome.eol()
    if model.access_denied:
        return Outcome.denied()
    return _capability_outcome(model)


def expected_outcome(scenario: Scenario, model_id: str, region: str) -> Outcome:
    """Certification's verdict for a model (bare or profile id) in a region or provider slug.

    Profile-only models count as working: the engine is expected to call them through
    their profile. Transient failures (a model's or a region's `failure_rate`), latency and
    LEGACY lifecycle do not change the verdict; `tool_args_invalid_rate` above
    1 - TOOL_SCHEMA_ACCURACY_MIN makes `tools` missing.
    """
    provider = scenario.provider(region)
    if provider is not None:
        return _openai_outcome(provider, model_id)
    kind, model, _prefix = _locate(scenario, model_id, region)
    if kind == "absent":
        return Outcome.absent()
    if kind == "eol":
        return Outcome.eol()
    if kind == "denied":
        return Outcome.denied()
    assert model is not None
    return _capability_outcome(model)
