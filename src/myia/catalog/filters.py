"""Query parameters of the catalog's list and price endpoints, as validated models.

The services take these objects whole, and the cache keys are built from their dump, so a
new filter is automatically part of the key.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field

from myia.catalog.schemas import CAPABILITY_FLAGS, BadgeName
from myia.db.enums import InferenceType
from myia.validation import QueryInput

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
# Bounded so the offset always fits a 64-bit integer (and SQLite's C long): past it there
# are no rows anyway.
MAX_PAGE = 1_000_000


def _known_capabilities(values: list[str]) -> list[str]:
    unknown = [v for v in values if v not in CAPABILITY_FLAGS]
    if unknown:
        raise ValueError(
            f"unknown capability '{unknown[0]}'; expected one of: {', '.join(CAPABILITY_FLAGS)}"
        )
    # Order and repetition don't change the result; normalising them shares cache entries.
    return sorted(set(values))


CapabilityList = Annotated[
    list[str],
    AfterValidator(_known_capabilities),
    Field(
        description="Only rows having every listed capability (repeatable)",
        json_schema_extra={"items": {"type": "string", "enum": list(CAPABILITY_FLAGS)}},
    ),
]


class PageParams(QueryInput):
    model_config = ConfigDict(extra="forbid", frozen=True)

    page: int = Field(default=1, ge=1, le=MAX_PAGE, description="1-based page number")
    page_size: int = Field(
        default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Rows per page"
    )

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    def cache_key(self) -> str:
        return f"{type(self).__name__}:{self.model_dump_json()}"


class ProviderFilters(PageParams):
    active: bool | None = Field(default=None, description="Only active (true) or inactive")


class CertificationFilters(PageParams):
    """On one certification row: `region`, `badge` and (certified=true) valid, together."""

    certified: bool | None = Field(
        default=None,
        description="true: certified (not expired) [in `region`]; false: no such certification",
    )
    region: str | None = Field(
        default=None, max_length=50, pattern=r"^[A-Za-z0-9_.\-]+$", description="Region"
    )
    badge: BadgeName | None = Field(default=None, description="Certification badge")


class ModelDeploymentFilters(CertificationFilters):
    """Filters on the deployments of one base model."""

    provider: str | None = Field(default=None, max_length=64, description="Provider slug")
    inference_type: InferenceType | None = None
    capability: CapabilityList = Field(default_factory=list)
    active: bool | None = Field(default=None, description="Deployment is active (true) or not")


class DeploymentFilters(ModelDeploymentFilters):
    vendor: str | None = Field(default=None, max_length=100, description="Base model vendor")
    family: str | None = Field(default=None, max_length=100, description="Base model family")
    base_model_id: str | None = Field(default=None, max_length=36)


class BaseModelFilters(CertificationFilters):
    vendor: str | None = Field(default=None, max_length=100)
    family: str | None = Field(default=None, max_length=100)
    provider: str | None = Field(
        default=None, max_length=64, description="Models with a deployment on this provider slug"
    )
    inference_type: InferenceType | None = Field(
        default=None, description="Models with a deployment of this inference type"
    )
    capability: CapabilityList = Field(default_factory=list)
    active: bool | None = Field(
        default=None,
        description="true: models with at least one active deployment; false: with none",
    )
    q: str | None = Field(
        default=None, min_length=1, max_length=200, description="Case-insensitive name search"
    )


class PriceQuery(QueryInput):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input_tokens: int = Field(default=1000, ge=0, le=10**9, description="Input tokens")
    output_tokens: int = Field(default=1000, ge=0, le=10**9, description="Output tokens")
    region: str | None = Field(
        default=None,
        max_length=50,
        pattern=r"^[A-Za-z0-9_.\-]+$",
        description="Price calls made from this region: its own or its geography's price "
        "where the provider prices it differently",
    )
