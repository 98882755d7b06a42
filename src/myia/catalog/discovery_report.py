"""What a discovery run found, kept, dropped and added: the data the CLI and API print."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from myia.db.enums import InferenceType
from myia.maintenance.pricing_file import PriceEntry

PRICE_FROM_FILE = "pricing_file"
PRICE_FROM_LISTING = "listing"
# Operators look for this value to find deployments whose cost is a placeholder 0.
PRICE_UNKNOWN = "unknown"


@dataclass(frozen=True)
class ModelPlan:
    """One deployment discovery adds (or, in a dry run, would add)."""

    deployment_id: str
    name: str
    vendor: str
    family: str | None
    inference_type: InferenceType
    capabilities: dict[str, Any]
    cost_per_1m_input: float | None  # None: no known price (price_source "unknown")
    cost_per_1m_output: float | None
    price_source: str
    provider_config: dict[str, Any]
    deprecated: bool = False
    # True when a base model of this name exists already (the deployment joins it).
    base_model_exists: bool = False
    # The bundled table's entry the price came from (its source page, date, regional prices).
    price_entry: PriceEntry | None = field(default=None, compare=False, repr=False)

    @property
    def needs_profile(self) -> bool:
        return self.inference_type is InferenceType.INFERENCE_PROFILE

    @property
    def vision(self) -> bool:
        return bool(self.capabilities.get("vision"))

    @property
    def tools(self) -> bool:
        return bool(self.capabilities.get("tool_calling"))

    @property
    def flags(self) -> str:
        """The seed's legend: 🔐 needs an inference profile, 👁️ vision, ⚙️ tool calling."""
        marks = [
            ("🔐", self.needs_profile),
            ("👁️", self.vision),
            ("⚙️", self.tools),
        ]
        return " ".join(mark for mark, on in marks if on)


@dataclass
class DiscoveryReport:
    provider_slug: str
    provider_name: str
    is_simulated: bool
    region: str | None
    vendor: str | None
    dry_run: bool
    listed: int = 0
    blacklisted: list[str] = field(default_factory=list)
    # Reason -> how many listed models it dropped (blacklisted ones are counted apart).
    dropped: Counter[str] = field(default_factory=Counter)
    relevant: int = 0
    # Deployments of this provider in the catalog before the run.
    catalog_before: int = 0
    already_in_catalog: int = 0
    # New models per vendor over every vendor, before `vendor` narrowed the run.
    new_by_vendor: Counter[str] = field(default_factory=Counter)
    added: list[ModelPlan] = field(default_factory=list)
    # Existing deployments that gained this region in provider_config.regions.
    regions_extended: int = 0
    base_models_created: int = 0

    @property
    def new(self) -> int:
        return sum(self.new_by_vendor.values())

    @property
    def added_count(self) -> int:
        return len(self.added)

    @property
    def without_price(self) -> list[str]:
        return [p.deployment_id for p in self.added if p.price_source == PRICE_UNKNOWN]

    def by_vendor(self) -> dict[str, list[ModelPlan]]:
        grouped: dict[str, list[ModelPlan]] = {}
        for plan in sorted(self.added, key=lambda p: (p.vendor, p.deployment_id)):
            grouped.setdefault(plan.vendor, []).append(plan)
        return grouped

    def summary(self) -> str:
        """One line, for logs and `myia demo`."""
        verb = "would add" if self.dry_run else "added"
        where = f" {self.region}" if self.region else ""
        return (
            f"{self.provider_slug}{where}: {self.listed} listed, {self.relevant} relevant, "
            f"{self.already_in_catalog} already in catalog, {verb} {self.added_count}"
        )
