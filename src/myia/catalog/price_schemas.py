"""Request and response shapes of deployment prices: regional prices and the price history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from myia.db.enums import PriceSourceKind
from myia.validation import ByValue, IsoDate, StrictInput

_PUBLIC = ConfigDict(from_attributes=True, frozen=True)
# A region (`eu-west-1`) or a geography scope (`eu`, `apac`, …), lower case.
REGION_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"


def _cost() -> Any:
    return Field(ge=0, allow_inf_nan=False, description="USD per million tokens")


class PriceHistoryEntry(BaseModel):
    """One change of a deployment's price (`region` null: its price everywhere)."""

    model_config = _PUBLIC

    id: str
    deployment_id: str
    region: str | None
    old_input: float | None
    old_output: float | None
    old_hour: float | None
    new_input: float | None
    new_output: float | None
    new_hour: float | None
    source_kind: PriceSourceKind | None
    source_name: str | None
    source_url: str | None
    as_of: date | None
    via: str = Field(description="api, admin, seed, discovery, import or cli")
    changed_by: str | None
    changed_at: datetime


class RegionalPricePublic(BaseModel):
    """A deployment's price in one region or geography, where it differs."""

    model_config = _PUBLIC

    region: str
    cost_per_1m_input: float
    cost_per_1m_output: float
    source_kind: PriceSourceKind
    source_name: str | None
    source_url: str | None
    as_of: date | None


class RegionalPriceWrite(StrictInput):
    """`PUT …/prices/{region}`: without a source kind, the operator's entry (dated today)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    cost_per_1m_input: float = _cost()
    cost_per_1m_output: float = _cost()
    price_source_kind: Annotated[PriceSourceKind, ByValue] = PriceSourceKind.OPERATOR
    price_source_name: str | None = Field(default=None, min_length=1, max_length=200)
    price_source_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://[^\s]+$")
    price_as_of: IsoDate | None = Field(
        default=None, description="The day the price was read at its source; default today"
    )


class DeploymentPricesPublic(BaseModel):
    """A deployment's price everywhere, its regional prices and its latest price changes."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Deployment id (catalog)")
    deployment_id: str = Field(description="The provider's model id")
    provider_slug: str
    cost_per_1m_input: float | None
    cost_per_1m_output: float | None
    cost_per_hour: float | None
    price_source_kind: PriceSourceKind | None
    price_source_name: str | None
    price_source_url: str | None
    price_as_of: date | None
    regional: list[RegionalPricePublic]
    history: list[PriceHistoryEntry] = Field(description="Newest first, at most `limit`")
