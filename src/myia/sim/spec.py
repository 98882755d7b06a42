"""What a scenario declares: regions, models, providers, and the lookups over them.

Plain data with validation; what it *means* (which call fails how, what certification must
conclude, which profiles exist) lives in `outcome` and `profiles`, which read these types,
and `scenario.Scenario` ties them together. Nothing here imports those modules.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from myia.sim.geography import geography

Capability = Literal["tools", "vision", "system", "json", "streaming"]
CAPABILITIES: tuple[Capability, ...] = ("tools", "vision", "system", "json", "streaming")
Modality = Literal["TEXT", "IMAGE", "EMBEDDING", "SPEECH", "VIDEO"]
InferenceType = Literal["ON_DEMAND", "INFERENCE_PROFILE", "PROVISIONED"]
Lifecycle = Literal["ACTIVE", "LEGACY", "EOL"]
ModelsShape = Literal["openai", "groq", "together"]
FailureKind = Literal[
    "InternalServerException",
    "ModelErrorException",
    "ServiceUnavailableException",
    "ModelTimeoutException",
    "ModelNotReadyException",
]
_TEXT: tuple[Modality, ...] = ("TEXT",)
_DEFAULT_FAILURES: tuple[FailureKind, ...] = ("InternalServerException", "ModelErrorException")
_ON_DEMAND: tuple[InferenceType, ...] = ("ON_DEMAND",)

# Slugs that would shadow the Bedrock routes sharing the same base URL.
RESERVED_SLUGS = frozenset({"model", "foundation-models", "inference-profiles", "_sim"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FixedLatency(_Strict):
    kind: Literal["fixed"] = "fixed"
    ms: float = Field(0.0, ge=0)


class UniformLatency(_Strict):
    kind: Literal["uniform"]
    min_ms: float = Field(ge=0)
    max_ms: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> UniformLatency:
        if self.max_ms < self.min_ms:
            raise ValueError("max_ms must be >= min_ms")
        return self


class LognormalLatency(_Strict):
    kind: Literal["lognormal"]
    p50_ms: float = Field(gt=0)
    p99_ms: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> LognormalLatency:
        if self.p99_ms < self.p50_ms:
            raise ValueError("p99_ms must be >= p50_ms")
        return self


def _number_is_fixed(value: Any) -> Any:
    # `latency: 25` is the common case; spelling out {kind: fixed, ms: 25} is noise.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"kind": "fixed", "ms": value}
    return value


Latency = Annotated[
    FixedLatency | UniformLatency | LognormalLatency,
    Field(discriminator="kind"),
    BeforeValidator(_number_is_fixed),
]


class Quota(_Strict):
    """A token bucket: `burst` calls at once, refilled at `requests_per_second`."""

    requests_per_second: float = Field(gt=0)
    burst: int = Field(1, ge=1)
    # Only reported in OpenAI-style rate-limit headers; not enforced.
    tokens_per_minute: int = Field(1_000_000, ge=1)


class Defaults(_Strict):
    latency: Latency = FixedLatency()
    time_to_first_token: Latency = FixedLatency()
    tokens_per_second: float = Field(0.0, ge=0, description="0 = stream without pacing")
    quota: Quota | None = None
    profiles_page_size: int = Field(100, ge=1, le=1000)
    split_frames: bool = True


class Region(_Strict):
    quota: Quota | None = None
    geography: str | None = None
    # Transient 5xx in this region, drawn independently of (on top of) the model's own.
    failure_rate: float = Field(0.0, ge=0, le=1)
    # A slow region: replaces `defaults.latency` here; a model's own `latency` still wins.
    latency: Latency | None = None


class Claims(BaseModel):
    """What a model advertises; `faults` say which of these do not really work."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True)

    tools: bool = True
    json_output: bool = Field(True, alias="json")
    system: bool = True
    vision: bool = False
    streaming: bool = True

    def capabilities(self) -> frozenset[Capability]:
        flags: dict[Capability, bool] = {
            "tools": self.tools,
            "json": self.json_output,
            "system": self.system,
            "vision": self.vision,
            "streaming": self.streaming,
        }
        return frozenset(cap for cap, on in flags.items() if on)


def _fill_claims(data: Any) -> Any:
    """Derive unstated claims from the listing: IMAGE input claims vision, and so on."""
    if not isinstance(data, dict) or not isinstance(data.get("claims") or {}, dict):
        return data  # malformed: let field validation report it

    def modalities(field: str) -> list[str]:
        value = data.get(field) or ["TEXT"]
        return [str(m).upper() for m in value] if isinstance(value, list) else []

    chat = "TEXT" in modalities("input_modalities") and "TEXT" in modalities("output_modalities")
    inputs = modalities("input_modalities")
    claims = dict(data.get("claims") or {})
    claims.setdefault("vision", "IMAGE" in inputs and chat)
    claims.setdefault("streaming", bool(data.get("streaming", True)) and chat)
    for name in ("tools", "json", "system"):
        if not (name == "json" and "json_output" in claims):
            claims.setdefault(name, chat)
    return {**data, "claims": claims}


class ModelSpec(_Strict):
    """Fields shared by Bedrock and OpenAI-compatible models."""

    id: str = Field(min_length=1)
    name: str | None = None
    input_modalities: list[Modality] = Field(default_factory=lambda: list(_TEXT))
    output_modalities: list[Modality] = Field(default_factory=lambda: list(_TEXT))
    streaming: bool = True
    lifecycle: Lifecycle = "ACTIVE"
    failure_rate: float = Field(0.0, ge=0, le=1)
    # Share of the model's own tool calls whose arguments break the tool's JSON schema,
    # exact over a run (see `SimState.breaks_tool_call`), not coin flips.
    tool_args_invalid_rate: float = Field(0.0, ge=0, le=1)
    # A model that does not adhere to structured output: its JSON answers to a schema
    # (`response_format` json_schema, Bedrock `outputConfig`, a forced tool on a JSON prompt)
    # parse but break the schema. The `json` fault is the other kind: prose instead of JSON.
    breaks_schemas: bool = False
    # A reasoning model: asked to reason (OpenAI `reasoning_effort`, Bedrock extended
    # thinking) it returns reasoning text; a model without it refuses the request.
    reasoning: bool = False
    failure_kinds: list[FailureKind] = Field(
        default_factory=lambda: list(_DEFAULT_FAILURES), min_length=1
    )
    latency: Latency | None = None
    time_to_first_token: Latency | None = None
    tokens_per_second: float | None = Field(None, ge=0)
    faults: list[Capability] = Field(default_factory=list)
    claims: Claims = Claims()

    @model_validator(mode="before")
    @classmethod
    def _derive_claims(cls, data: Any) -> Any:
        return _fill_claims(data)

    @property
    def display_name(self) -> str:
        return self.name or self.id

    @property
    def is_chat(self) -> bool:
        """Text in, text out: what Converse and chat completions can drive."""
        return "TEXT" in self.input_modalities and "TEXT" in self.output_modalities

    def works(self, capability: Capability) -> bool:
        """A capability works only when it is both claimed and not faulty."""
        return capability in self.claims.capabilities() and capability not in self.faults

    def refusal(
        self, *, system: bool, tools: bool, images: bool, stream: bool
    ) -> Capability | Literal["chat"] | None:
        """The capability a request needs that this model's provider turns down, if any.

        Vision is refused only when not claimed: a vision *fault* is a model that accepts
        the image and then misreads it.
        """
        if not self.is_chat:
            return "chat"
        if stream and not self.works("streaming"):
            return "streaming"
        if system and not self.works("system"):
            return "system"
        if tools and not self.works("tools"):
            return "tools"
        if images and not self.claims.vision:
            return "vision"
        return None


class BedrockModel(ModelSpec):
    provider: str = Field(min_length=1, description="providerName in the listing")
    inference_types: list[InferenceType] = Field(default_factory=lambda: list(_ON_DEMAND))
    customizations: list[str] = Field(default_factory=list)
    regions: list[str] | None = Field(None, description="None = every scenario region")
    access_denied_regions: list[str] = Field(default_factory=list)
    global_profile: bool = False
    listed: bool | None = Field(None, description="None = listed unless EOL")
    region_lifecycle: dict[str, Lifecycle] = Field(
        default_factory=dict, description="overrides `lifecycle` in these regions"
    )
    # Tokens of prompt and answer together: a longer prompt is refused ("Input is too long"),
    # an answer that would overflow stops with model_context_window_exceeded. None: no limit.
    context_window: int | None = Field(None, ge=1)

    def lifecycle_in(self, region: str) -> Lifecycle:
        return self.region_lifecycle.get(region, self.lifecycle)

    def listed_in(self, region: str) -> bool:
        """Whether ListFoundationModels in `region` shows the model (EOL there hides it)."""
        return self.listed if self.listed is not None else self.lifecycle_in(region) != "EOL"

    @property
    def on_demand(self) -> bool:
        return "ON_DEMAND" in self.inference_types

    @property
    def has_profiles(self) -> bool:
        return "INFERENCE_PROFILE" in self.inference_types

    @property
    def is_listed(self) -> bool:
        return self.listed if self.listed is not None else self.lifecycle != "EOL"


class Pricing(_Strict):
    input: float = Field(0.0, ge=0, description="USD per 1M tokens")
    output: float = Field(0.0, ge=0)


class OpenAIModel(ModelSpec):
    owned_by: str = "system"
    created: int = 1_700_000_000
    context_window: int = 128_000
    pricing: Pricing | None = None
    access_denied: bool = False

    @property
    def is_listed(self) -> bool:
        return self.lifecycle != "EOL" and not self.access_denied


class OpenAIProvider(_Strict):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str | None = None
    models_shape: ModelsShape = "openai"
    invalid_api_keys: list[str] = Field(default_factory=list)
    insufficient_quota: bool = False
    quota: Quota | None = None
    latency: Latency | None = None
    models: list[OpenAIModel] = Field(default_factory=list)

    def model(self, model_id: str) -> OpenAIModel | None:
        return next((m for m in self.models if m.id == model_id), None)


def _none_is_empty(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ({} if v is None else v) for k, v in value.items()}
    if isinstance(value, list):  # a bare list of region names is allowed too
        return {str(name): {} for name in value}
    return value


class ScenarioSpec(_Strict):
    """A scenario's declared world; `myia.sim.scenario.Scenario` adds the ground truth."""

    name: str = "scenario"
    description: str = ""
    seed: int = 0
    account_id: str = Field("123456789012", pattern=r"^\d{12}$")
    defaults: Defaults = Defaults()
    invalid_access_keys: list[str] = Field(default_factory=list)
    regions: Annotated[dict[str, Region], BeforeValidator(_none_is_empty)] = Field(
        default_factory=dict
    )
    models: list[BedrockModel] = Field(default_factory=list)
    openai_providers: list[OpenAIProvider] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> ScenarioSpec:
        seen: set[str] = set()
        for model in self.models:
            if model.id in seen:
                raise ValueError(f"models: duplicate id {model.id!r}")
            seen.add(model.id)
            for field in ("regions", "access_denied_regions"):
                unknown = set(getattr(model, field) or ()) - set(self.regions)
                if unknown:
                    raise ValueError(
                        f"models[{model.id}].{field}: unknown region(s) {sorted(unknown)}; "
                        f"declare them under `regions`"
                    )
            elsewhere = set(model.region_lifecycle) - set(self.model_regions(model))
            if elsewhere:
                raise ValueError(
                    f"models[{model.id}].region_lifecycle: region(s) {sorted(elsewhere)} "
                    f"are not among the model's regions"
                )
        slugs = [p.slug for p in self.openai_providers]
        if len(set(slugs)) != len(slugs):
            raise ValueError("openai_providers: duplicate slug")
        clash = (set(slugs) & RESERVED_SLUGS) | (set(slugs) & set(self.regions))
        if clash:
            raise ValueError(f"openai_providers: slug(s) {sorted(clash)} are reserved")
        return self

    # --- lookups -------------------------------------------------------------------------
    def model(self, model_id: str) -> BedrockModel | None:
        return next((m for m in self.models if m.id == model_id), None)

    def provider(self, slug: str) -> OpenAIProvider | None:
        return next((p for p in self.openai_providers if p.slug == slug), None)

    def region(self, name: str) -> Region:
        return self.regions.get(name, Region())

    def geography(self, region: str) -> str | None:
        """The profile prefix served in `region`; None = no geographic profile there."""
        return self.region(region).geography or geography(region)

    def model_regions(self, model: BedrockModel) -> list[str]:
        return list(self.regions) if model.regions is None else list(model.regions)

    def models_in(self, region: str) -> list[BedrockModel]:
        return [m for m in self.models if region in self.model_regions(m)]

    def latency_for(self, model: ModelSpec, region: str) -> Latency:
        """The model's own latency, else the region's (a slow region), else the default."""
        return model.latency or self.region(region).latency or self.defaults.latency

    def failure_rate_for(self, model: ModelSpec, region: str) -> float:
        """Chance a call fails transiently: the model's and the region's, independent."""
        region_rate = self.region(region).failure_rate
        return 1 - (1 - model.failure_rate) * (1 - region_rate)

    def quota_for_region(self, region: str) -> Quota | None:
        return self.region(region).quota or self.defaults.quota

    def quota_for_provider(self, slug: str) -> Quota | None:
        provider = self.provider(slug)
        return (provider.quota if provider else None) or self.defaults.quota
