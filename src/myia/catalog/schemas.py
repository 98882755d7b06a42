"""Request and response shapes of the catalog (REST v2 and the services).

Inputs forbid unknown fields so a typo is a 422, not a silently ignored setting. Public
shapes are frozen: the catalog cache hands the same instance to every request.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from myia.catalog import examples
from myia.catalog.params import CallParams
from myia.db.enums import AuthType, CapabilitiesSource, InferenceType, PriceSourceKind
from myia.validation import ByValue, IsoDate, IsoDatetime, StrictInput

# Boolean capabilities, the ones a `capability=` filter can ask for.
CAPABILITY_FLAGS = ("streaming", "vision", "tool_calling", "json_output")
CAPABILITY_LIMITS = ("max_context_window", "max_output_tokens")
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,63}$"
# A description is prose for people; the body limit alone would still let one model's row
# make every catalog page megabytes long.
MAX_DESCRIPTION = 20_000

ItemT = TypeVar("ItemT")

_PUBLIC = ConfigDict(from_attributes=True, frozen=True)


def _cost() -> Any:
    return Field(ge=0, allow_inf_nan=False, description="USD per million tokens")


def _source_name() -> Any:
    return Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Who states the price: a public price page's name, or the operator",
    )


def _source_url() -> Any:
    return Field(
        default=None,
        max_length=500,
        pattern=r"^https?://[^\s]+$",
        description="The public page the price was read on",
    )


def _as_of() -> Any:
    return Field(default=None, description="The day the price was read at its source")


def _reject_null(value: Any) -> Any:
    # Runs only for fields the client sent: `"name": null` must not reach a NOT NULL column.
    if value is None:
        raise ValueError("may not be null")
    return value


# --- capabilities ---------------------------------------------------------------------------
class Capabilities(BaseModel):
    """What a model can do. Unknown limits are null."""

    # Strict (an input shape too, nested in model bodies): 8192, not "8192" or 8192.0.
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        json_schema_extra={"examples": [examples.CAPABILITIES]},
    )

    streaming: StrictBool = False
    vision: StrictBool = False
    tool_calling: StrictBool = False
    json_output: StrictBool = False
    max_context_window: int | None = Field(default=None, ge=1)
    max_output_tokens: int | None = Field(default=None, ge=1)

    @classmethod
    def from_stored(cls, data: Mapping[str, Any] | None) -> Capabilities:
        """Read a stored JSON object, ignoring keys this version does not know."""
        return cls.model_validate(stored_capabilities(data))


_CAPABILITY_FIELDS = frozenset(Capabilities.model_fields)


def stored_capabilities(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """The keys of a stored capabilities object this version knows, nulls left out: what
    `Capabilities` validates (a response model validating a page does it for every row at
    once, which is cheaper than a `Capabilities` per row)."""
    return {k: v for k, v in (data or {}).items() if k in _CAPABILITY_FIELDS and v is not None}


def merged_capabilities(
    base: Mapping[str, Any] | None, override: Mapping[str, Any] | None
) -> dict[str, Any]:
    """`merge_capabilities` as the dict `Capabilities` validates."""
    merged = {**(base or {})}
    merged.update({k: v for k, v in (override or {}).items() if v is not None})
    return stored_capabilities(merged)


class CapabilitiesOverride(BaseModel):
    """Capabilities a deployment differs on; a null or absent key keeps the base model's."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        json_schema_extra={"examples": [{"vision": False}]},
    )

    streaming: StrictBool | None = None
    vision: StrictBool | None = None
    tool_calling: StrictBool | None = None
    json_output: StrictBool | None = None
    max_context_window: int | None = Field(default=None, ge=1)
    max_output_tokens: int | None = Field(default=None, ge=1)


def merge_capabilities(
    base: Mapping[str, Any] | None, override: Mapping[str, Any] | None
) -> Capabilities:
    """A deployment's effective capabilities: the base model's, overridden key by key."""
    return Capabilities.model_validate(merged_capabilities(base, override))


# --- pagination -----------------------------------------------------------------------------
class Page(BaseModel, Generic[ItemT]):
    model_config = _PUBLIC

    items: list[ItemT]
    total: int = Field(description="Rows matching the filters, over all pages")
    page: int
    page_size: int


# --- providers ------------------------------------------------------------------------------
class ProviderBase(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["AWS Bedrock"])
    base_url: str | None = Field(
        default=None,
        max_length=500,
        pattern=r"^https?://",
        examples=["https://api.groq.com/openai/v1"],
    )
    auth_type: Annotated[AuthType, ByValue] = Field(examples=[AuthType.AWS_CREDENTIALS])
    is_simulated: StrictBool = Field(default=False, description="Points at the local simulator")
    is_active: StrictBool = True


class ProviderCreate(ProviderBase, StrictInput):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.PROVIDER_CREATE]}
    )

    slug: str = Field(pattern=SLUG_PATTERN, examples=["bedrock"])


class ProviderUpdate(StrictInput):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.PROVIDER_UPDATE]}
    )

    slug: str | None = Field(default=None, pattern=SLUG_PATTERN)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    base_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://")
    auth_type: Annotated[AuthType, ByValue] | None = None
    is_simulated: StrictBool | None = None
    is_active: StrictBool | None = None

    _not_null = field_validator("slug", "name", "auth_type", "is_simulated", "is_active")(
        _reject_null
    )


class ProviderPublic(ProviderBase):
    model_config = ConfigDict(
        from_attributes=True,
        frozen=True,
        json_schema_extra={"examples": [examples.PROVIDER_PUBLIC]},
    )

    id: str
    slug: str
    created_at: datetime
    updated_at: datetime


class ProvidersPublic(Page[ProviderPublic]):
    pass


class ProviderRef(BaseModel):
    model_config = _PUBLIC

    id: str
    slug: str
    name: str
    is_simulated: bool
    is_active: bool


# --- base models ----------------------------------------------------------------------------
class BaseModelBase(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["Claude 3.5 Sonnet"])
    vendor: str = Field(min_length=1, max_length=100, examples=["Anthropic"])
    family: str | None = Field(default=None, max_length=100, examples=["Claude"])
    version: str | None = Field(default=None, max_length=50, examples=["3.5"])
    capabilities: Capabilities = Field(default_factory=Capabilities)
    default_params: dict[str, Any] | None = Field(default=None, examples=[{"temperature": 0.7}])
    description: str | None = None
    release_date: IsoDatetime | None = None
    deprecated: StrictBool = False
    replaced_by: str | None = Field(default=None, max_length=200)


class BaseModelCreate(BaseModelBase, StrictInput):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.BASE_MODEL_CREATE]}
    )

    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    default_params: CallParams | None = Field(default=None, examples=[{"temperature": 0.7}])


class BaseModelUpdate(StrictInput):
    """Partial update. `capabilities` is merged key by key into the stored ones."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.BASE_MODEL_UPDATE]}
    )

    name: str | None = Field(default=None, min_length=1, max_length=200)
    vendor: str | None = Field(default=None, min_length=1, max_length=100)
    family: str | None = Field(default=None, max_length=100)
    version: str | None = Field(default=None, max_length=50)
    capabilities: CapabilitiesOverride | None = None
    default_params: CallParams | None = None
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    release_date: IsoDatetime | None = None
    deprecated: StrictBool | None = None
    replaced_by: str | None = Field(default=None, max_length=200)

    _not_null = field_validator("name", "vendor", "capabilities", "deprecated")(_reject_null)


class BaseModelPublic(BaseModelBase):
    model_config = ConfigDict(
        from_attributes=True,
        frozen=True,
        json_schema_extra={"examples": [examples.BASE_MODEL_PUBLIC]},
    )

    id: str
    deployment_count: int = Field(description="Deployments of this model, active or not")
    active_deployment_count: int
    providers: list[str] = Field(description="Slugs of providers with an active deployment")
    certifications: list[CertificationBadge] = Field(
        default_factory=list, description="Its deployments' certifications, per region"
    )
    created_at: datetime
    updated_at: datetime


class BaseModelsPublic(Page[BaseModelPublic]):
    pass


class BaseModelRef(BaseModel):
    model_config = _PUBLIC

    id: str
    name: str
    vendor: str
    family: str | None


# --- certification badges (issue 15: every signed-in user sees them) -------------------------
BadgeName = Literal["PREMIUM", "RECOMMENDED", "FUNCTIONAL", "LIMITED", "UNSTABLE", "FAILED"]


class CertificationBadge(BaseModel):
    """A deployment's certification in one region, as the catalog shows it."""

    model_config = _PUBLIC

    deployment_id: str = Field(description="Deployment id (catalog)")
    region: str
    status: str = Field(examples=["CERTIFIED"])
    badge: str | None = Field(default=None, examples=["RECOMMENDED"])
    rating: float | None = Field(default=None, description="0-5")
    certified_at: datetime | None = None
    expires_at: datetime | None = None
    valid: bool = Field(description="CERTIFIED and not expired: what the gateway routes to")


# --- deployments ----------------------------------------------------------------------------
class DeploymentBase(BaseModel):
    deployment_id: str = Field(
        min_length=1,
        max_length=300,
        examples=["anthropic.claude-3-5-sonnet-20241022-v2:0"],
        description="The provider's own model id",
    )
    inference_type: Annotated[InferenceType, ByValue] = InferenceType.ON_DEMAND
    provider_config: dict[str, Any] | None = None
    # null = price unknown (never 0): an unpriced deployment must not look free.
    cost_per_1m_input: float | None = _cost()
    cost_per_1m_output: float | None = _cost()
    cost_per_hour: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="USD per hour (provisioned)"
    )
    # Where the prices come from (issue 27). Unset on a write that sets a price: an operator's
    # entry, dated today.
    price_source_kind: Annotated[PriceSourceKind, ByValue] | None = Field(
        default=None, description="bundled (pricing.yaml), operator, or discovery (listing)"
    )
    price_source_name: str | None = _source_name()
    price_source_url: str | None = _source_url()
    price_as_of: IsoDate | None = _as_of()
    custom_params: dict[str, Any] | None = None
    capabilities: CapabilitiesOverride | None = None
    capabilities_verified_at: IsoDatetime | None = None
    capabilities_source: Annotated[CapabilitiesSource, ByValue] | None = None
    is_active: StrictBool = True


class DeploymentCreate(DeploymentBase, StrictInput):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.DEPLOYMENT_CREATE]}
    )

    base_model_id: str = Field(min_length=1, max_length=36)
    provider_id: str = Field(min_length=1, max_length=36)
    custom_params: CallParams | None = None


class DeploymentUpdate(StrictInput):
    """Partial update. `capabilities` is merged key by key; `"capabilities": null` clears it."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.DEPLOYMENT_UPDATE]}
    )

    base_model_id: str | None = Field(default=None, min_length=1, max_length=36)
    provider_id: str | None = Field(default=None, min_length=1, max_length=36)
    deployment_id: str | None = Field(default=None, min_length=1, max_length=300)
    inference_type: Annotated[InferenceType, ByValue] | None = None
    provider_config: dict[str, Any] | None = None
    cost_per_1m_input: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    cost_per_1m_output: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    cost_per_hour: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    price_source_kind: Annotated[PriceSourceKind, ByValue] | None = None
    price_source_name: str | None = _source_name()
    price_source_url: str | None = _source_url()
    price_as_of: IsoDate | None = _as_of()
    custom_params: CallParams | None = None
    capabilities: CapabilitiesOverride | None = None
    capabilities_verified_at: IsoDatetime | None = None
    capabilities_source: Annotated[CapabilitiesSource, ByValue] | None = None
    is_active: StrictBool | None = None

    _not_null = field_validator(
        "base_model_id",
        "provider_id",
        "deployment_id",
        "inference_type",
        "is_active",
    )(_reject_null)


class DeploymentPublic(DeploymentBase):
    model_config = ConfigDict(
        from_attributes=True,
        frozen=True,
        json_schema_extra={"examples": [examples.DEPLOYMENT_PUBLIC]},
    )

    id: str
    base_model_id: str
    provider_id: str
    provider: ProviderRef
    base_model: BaseModelRef
    effective_capabilities: Capabilities = Field(
        description="The base model's capabilities overridden by this deployment's"
    )
    certifications: list[CertificationBadge] = Field(
        default_factory=list, description="Certification per region (status, badge, expiry)"
    )
    created_at: datetime
    updated_at: datetime


class DeploymentsPublic(Page[DeploymentPublic]):
    pass


class BaseModelDetail(BaseModelPublic):
    deployments: list[DeploymentPublic]


# --- price comparison -----------------------------------------------------------------------
class PriceQuote(BaseModel):
    model_config = _PUBLIC

    id: str = Field(description="Deployment id (catalog)")
    deployment_id: str = Field(description="The provider's model id")
    inference_type: InferenceType
    provider_id: str
    provider_slug: str
    provider_name: str
    is_simulated: bool
    # In the query's region when one was given (its own or its geography's price, if any).
    cost_per_1m_input: float | None
    cost_per_1m_output: float | None
    price_source_kind: PriceSourceKind | None = None
    price_source_name: str | None = None
    price_as_of: date | None = None
    # null when the deployment has no known price: it is listed after every priced one.
    input_cost: float | None
    output_cost: float | None
    total_cost: float | None
    priced: bool = True


class PriceComparison(BaseModel):
    model_config = ConfigDict(
        frozen=True, json_schema_extra={"examples": [examples.PRICE_COMPARISON]}
    )

    base_model_id: str
    base_model_name: str
    input_tokens: int
    output_tokens: int
    currency: Literal["USD"] = "USD"
    items: list[PriceQuote] = Field(description="Active deployments, cheapest first")
