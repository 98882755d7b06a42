"""Shapes of the deployment search (issue 27): the constraints, and each ranked result.

A result is one deployment *in one region*: its certification there (badge, rating, expiry)
and the price a call made from there pays — the region's own price, else its geography's,
else the deployment's price everywhere (`telemetry.cost.price_in_region`), with the source
of that price.
"""

from __future__ import annotations

from datetime import date
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from myia.catalog.filters import MAX_PAGE, MAX_PAGE_SIZE, CapabilityList
from myia.catalog.schemas import (
    BadgeName,
    BaseModelRef,
    Capabilities,
    CertificationBadge,
    Page,
    ProviderRef,
)
from myia.db.enums import InferenceType, PriceSourceKind
from myia.validation import QueryInput

# What `providers.bedrock.model_ids.geography_for_region` maps regions to, and what regional
# prices are keyed by besides regions: a geography filter and a geography price agree.
Geography = Literal["us", "us-gov", "eu", "apac", "global"]
GEOGRAPHIES: tuple[str, ...] = get_args(Geography)
# Best first: `min_badge=RECOMMENDED` accepts PREMIUM and RECOMMENDED.
BADGE_ORDER: tuple[str, ...] = get_args(BadgeName)
DEFAULT_SEARCH_PAGE_SIZE = 20
MAX_TOKENS = 10**9
# Far above any real price per 1M tokens; bounds the number so it always fits a float8.
MAX_PRICE = 1_000_000.0


def badges_at_least(badge: str) -> tuple[str, ...]:
    return BADGE_ORDER[: BADGE_ORDER.index(badge) + 1]


class DeploymentSearch(QueryInput):
    """Constraints of `GET /api/v2/deployments/search`, `myia models find` and /models."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    capability: CapabilityList = Field(default_factory=list)
    region: str | None = Field(
        default=None,
        max_length=50,
        pattern=r"^[a-z0-9][a-z0-9-]{0,49}$",
        description="Only results in this region (eu-west-1; global for providers without regions)",
    )
    geography: Geography | None = Field(
        default=None,
        description="Only results in a region of this geography: eu = eu-*, us = us-* and "
        "ca-*, us-gov = us-gov-*, apac = ap-* and me-central-1, global = every other",
    )
    min_context: int | None = Field(
        default=None, ge=1, le=10**8, description="Context window of at least this many tokens"
    )
    max_input_price: float | None = Field(
        default=None,
        ge=0,
        le=MAX_PRICE,
        allow_inf_nan=False,
        description="At most this many USD per 1M input tokens, in the result's region "
        "(an unpriced deployment never qualifies)",
    )
    max_output_price: float | None = Field(
        default=None,
        ge=0,
        le=MAX_PRICE,
        allow_inf_nan=False,
        description="At most this many USD per 1M output tokens, in the result's region",
    )
    min_badge: BadgeName | None = Field(
        default=None, description="This badge or a better one (PREMIUM is the best)"
    )
    certified: bool = Field(
        default=True,
        description="true: only valid certifications (CERTIFIED, not expired); false: every "
        "certification row, and deployments never certified (region null)",
    )
    provider: str | None = Field(default=None, max_length=64, description="Provider slug")
    vendor: str | None = Field(default=None, max_length=100, description="Base model vendor")
    inference_type: InferenceType | None = None
    input_tokens: int = Field(
        default=1000, ge=0, le=MAX_TOKENS, description="Input tokens of the mix ranked by"
    )
    output_tokens: int = Field(
        default=1000, ge=0, le=MAX_TOKENS, description="Output tokens of the mix ranked by"
    )
    page: int = Field(default=1, ge=1, le=MAX_PAGE, description="1-based page number")
    page_size: int = Field(
        default=DEFAULT_SEARCH_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Results per page"
    )

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    def cache_key(self) -> str:
        return f"{type(self).__name__}:{self.model_dump_json()}"


_PUBLIC = ConfigDict(from_attributes=True, frozen=True)


class SearchPrice(BaseModel):
    """The price a call from the result's region pays, and where it comes from."""

    model_config = _PUBLIC

    cost_per_1m_input: float | None = Field(description="USD per 1M input tokens; null unknown")
    cost_per_1m_output: float | None = Field(description="USD per 1M output tokens")
    region: str | None = Field(
        description="The region or geography of the regional price that applies; null: the "
        "deployment's price everywhere"
    )
    source_kind: PriceSourceKind | None = None
    source_name: str | None = None
    source_url: str | None = None
    as_of: date | None = None


class SearchResult(BaseModel):
    model_config = _PUBLIC

    id: str = Field(description="Deployment id (catalog)")
    deployment_id: str = Field(description="The provider's model id")
    inference_type: InferenceType
    provider: ProviderRef
    base_model: BaseModelRef
    effective_capabilities: Capabilities
    region: str | None = Field(description="Where this result is certified; null: nowhere")
    certification: CertificationBadge | None
    price: SearchPrice
    input_cost: float | None = Field(description="USD for the input tokens of the mix")
    output_cost: float | None
    total_cost: float | None = Field(description="null when unpriced: ranked last, never free")
    priced: bool


class DeploymentSearchResults(Page[SearchResult]):
    input_tokens: int
    output_tokens: int
    currency: Literal["USD"] = "USD"
