"""The plan of a catalog import: each entry of a validated file against the database.

`Planner` reads nothing but the loaded state and writes nothing: it finds each entry's row by
natural key, the field changes (old → new) the import would make, and the problems only the
database can reveal (a reference to no provider, a key twice in the file). The dry run shows
this plan; the import applies exactly it (`myia.catalog.transfer`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.catalog.price_history import Price, PriceSource
from myia.catalog.schemas import Capabilities, CapabilitiesOverride
from myia.catalog.transfer_schema import (
    SECTIONS,
    BaseModelEntry,
    DeploymentEntry,
    ProviderEntry,
    RegionalPriceEntry,
)
from myia.db.models import BaseModel, DeploymentPrice, ModelDeployment, Provider

Action = Literal["create", "update", "delete"]
_KNOWN_OVERRIDES = frozenset(CapabilitiesOverride.model_fields)
_KNOWN_CAPABILITIES = frozenset(Capabilities.model_fields)
_PLAIN_DEPLOYMENT_FIELDS = (
    "inference_type",
    "provider_config",
    "custom_params",
    "capabilities_verified_at",
    "capabilities_source",
    "is_active",
)
_SOURCE_FIELDS = ("price_source_kind", "price_source_name", "price_source_url", "price_as_of")


@dataclass(frozen=True)
class FieldChange:
    name: str
    old: Any
    new: Any


@dataclass
class EntryChange:
    section: str
    key: str
    action: Action
    changes: list[FieldChange] = field(default_factory=list)


@dataclass
class PricePlan:
    price: Price
    source: PriceSource | None


@dataclass
class DeploymentPlan:
    entry: DeploymentEntry
    row: ModelDeployment | None
    values: dict[str, Any]
    price: PricePlan | None
    # region -> its new price and source, or None to remove it.
    regional: dict[str, PricePlan | None]


@dataclass
class State:
    providers: dict[str, Provider]
    models: dict[str, BaseModel]
    deployments: dict[tuple[str, str], ModelDeployment]
    regional: dict[str, dict[str, DeploymentPrice]]

    @cached_property
    def model_names(self) -> dict[str, str]:
        return {m.id: name for name, m in self.models.items()}


async def load_state(session: AsyncSession) -> State:
    providers = {p.slug: p for p in await session.scalars(select(Provider))}
    models = {m.name: m for m in await session.scalars(select(BaseModel))}
    slugs = {p.id: slug for slug, p in providers.items()}
    deployments = {
        (slugs[d.provider_id], d.deployment_id): d
        for d in await session.scalars(select(ModelDeployment))
    }
    regional: dict[str, dict[str, DeploymentPrice]] = {}
    for price in await session.scalars(select(DeploymentPrice)):
        regional.setdefault(price.deployment_id, {})[price.region] = price
    return State(providers, models, deployments, regional)


def _diff(row: Any, values: dict[str, Any]) -> list[FieldChange]:
    return [
        FieldChange(name, getattr(row, name), value)
        for name, value in values.items()
        if getattr(row, name) != value
    ]


def _capability_changes(prefix: str, old: dict[str, Any], new: dict[str, Any]) -> list[FieldChange]:
    return [
        FieldChange(f"{prefix}.{k}", old.get(k), new.get(k))
        for k in sorted({*old, *new})
        if old.get(k) != new.get(k)
    ]


def _model_values(
    entry: BaseModelEntry, row: BaseModel | None
) -> tuple[dict[str, Any], list[FieldChange]]:
    sent = entry.model_dump() if row is None else entry.model_dump(exclude_unset=True)
    sent.pop("name", None)
    changes: list[FieldChange] = []
    if "capabilities" in sent:
        stored = dict(row.capabilities or {}) if row is not None else {}
        known = Capabilities.model_validate(sent["capabilities"]).model_dump()
        # Keys this version does not know (a newer component wrote them) survive.
        sent["capabilities"] = {**stored, **known}
        old = Capabilities.from_stored(stored).model_dump()
        new = known
        if old == new:
            del sent["capabilities"]
        elif row is not None:
            changes.extend(_capability_changes("capabilities", old, new))
    if row is None:
        return sent, []
    plain = {k: v for k, v in sent.items() if k != "capabilities"}
    changes = _diff(row, plain) + changes
    changed = {c.name for c in changes}
    values = {k: v for k, v in sent.items() if k in changed or k == "capabilities"}
    return values, changes


def _override_values(
    entry: DeploymentEntry, row: ModelDeployment | None
) -> tuple[dict[str, Any] | None, list[FieldChange]] | None:
    """The deployment's new stored capability overrides, or None when unchanged."""
    if row is not None and "capabilities" not in entry.model_fields_set:
        return None
    stored = dict((row.capabilities if row is not None else None) or {})
    sent = entry.capabilities.model_dump(exclude_none=True) if entry.capabilities else {}
    unknown = {k: v for k, v in stored.items() if k not in _KNOWN_OVERRIDES and v is not None}
    old = {k: v for k, v in stored.items() if k in _KNOWN_OVERRIDES and v is not None}
    if old == sent:
        return None
    return ({**unknown, **sent} or None), _capability_changes("capabilities", old, sent)


def _source_of(kind: Any, name: Any, url: Any, as_of: Any) -> PriceSource | None:
    return None if kind is None else PriceSource(kind, name, url, as_of)


def _resolve_price(
    entry: DeploymentEntry | RegionalPriceEntry,
    sent_names: Iterable[str],
    current: Price,
    current_source: PriceSource | None,
    *,
    new_row: bool,
) -> PricePlan:
    """The API's rule (catalog/deployments.py `_price_change`): price fields not sent keep
    their value; without a kind, an unchanged price keeps its source, a new one is the
    operator's entry dated today; source fields sent override the base's."""
    sent = set(sent_names)

    def pick(name: str, old: Any) -> Any:
        return getattr(entry, name) if name in sent else old

    price = Price(
        pick("cost_per_1m_input", current.input),
        pick("cost_per_1m_output", current.output),
        pick("cost_per_hour", current.hour) if isinstance(entry, DeploymentEntry) else None,
    )
    if price == Price(None, None, None):
        return PricePlan(price, None)
    repriced = new_row or price != current
    base = current_source if not repriced and current_source else PriceSource.operator()
    kind = entry.price_source_kind if "price_source_kind" in sent else None
    source = PriceSource(
        kind=kind or base.kind,
        name=pick("price_source_name", base.name),
        url=pick("price_source_url", base.url),
        as_of=pick("price_as_of", base.as_of),
    )
    return PricePlan(price, source)


def _current_price(row: ModelDeployment | None) -> tuple[Price, PriceSource | None]:
    if row is None:
        return Price(None, None, None), None
    source = _source_of(
        row.price_source_kind, row.price_source_name, row.price_source_url, row.price_as_of
    )
    return Price(row.cost_per_1m_input, row.cost_per_1m_output, row.cost_per_hour), source


def _price_changes(
    prefix: str, old: Price, old_source: PriceSource | None, plan: PricePlan
) -> list[FieldChange]:
    pairs = [
        ("cost_per_1m_input", old.input, plan.price.input),
        ("cost_per_1m_output", old.output, plan.price.output),
        ("cost_per_hour", old.hour, plan.price.hour),
    ]
    src_old, src_new = old_source, plan.source
    for name, attr in (
        ("price_source_kind", "kind"),
        ("price_source_name", "name"),
        ("price_source_url", "url"),
        ("price_as_of", "as_of"),
    ):
        pairs.append((name, getattr(src_old, attr, None), getattr(src_new, attr, None)))
    return [FieldChange(prefix + name, a, b) for name, a, b in pairs if a != b]


def _regional_plan(
    entry: DeploymentEntry,
    existing: dict[str, DeploymentPrice],
    changes: list[FieldChange],
) -> dict[str, PricePlan | None]:
    if entry.regional_prices is None or "regional_prices" not in entry.model_fields_set:
        return {}
    plan: dict[str, PricePlan | None] = {}
    wanted = {item.region: item for item in entry.regional_prices}
    for region in sorted(set(existing) - set(wanted)):
        gone = existing[region]
        plan[region] = None
        old_pair = (gone.cost_per_1m_input, gone.cost_per_1m_output)
        changes.append(FieldChange(f"regional_prices[{region}]", old_pair, None))
    for region, item in sorted(wanted.items()):
        row = existing.get(region)
        old = (
            Price(None, None)
            if row is None
            else Price(row.cost_per_1m_input, row.cost_per_1m_output)
        )
        old_source = (
            None
            if row is None
            else _source_of(row.source_kind, row.source_name, row.source_url, row.as_of)
        )
        resolved = _resolve_price(item, item.model_fields_set, old, old_source, new_row=row is None)
        found = _price_changes(f"regional_prices[{region}].", old, old_source, resolved)
        if found:
            plan[region] = resolved
            changes.extend(found)
    return plan


class Planner:
    def __init__(self, state: State, parsed: dict[str, list[Any]], prune: bool) -> None:
        self.state = state
        self.parsed = parsed
        self.prune = prune
        self.problems: list[str] = []
        self.report_entries: list[EntryChange] = []
        self.unchanged = dict.fromkeys(SECTIONS, 0)

    def _duplicates(self, section: str, keys: list[str]) -> None:
        seen: dict[str, int] = {}
        for index, key in enumerate(keys):
            if key in seen:
                self.problems.append(
                    f"{section}[{index}] ({key}): the same key as {section}[{seen[key]}]"
                )
            seen.setdefault(key, index)

    def _record(self, section: str, key: str, row: Any, changes: list[FieldChange]) -> None:
        if row is None:
            self.report_entries.append(EntryChange(section, key, "create"))
        elif changes:
            self.report_entries.append(EntryChange(section, key, "update", changes))
        else:
            self.unchanged[section] += 1

    def providers(self) -> list[tuple[ProviderEntry, Provider | None, dict[str, Any]]]:
        entries: list[ProviderEntry] = self.parsed["providers"]
        self._duplicates("providers", [e.slug for e in entries])
        planned = []
        for entry in entries:
            row = self.state.providers.get(entry.slug)
            values = entry.model_dump() if row is None else entry.model_dump(exclude_unset=True)
            changes = [] if row is None else _diff(row, values)
            if row is not None:
                values = {c.name: c.new for c in changes}
            self._record("providers", entry.slug, row, changes)
            planned.append((entry, row, values))
        return planned

    def models(self) -> list[tuple[BaseModelEntry, BaseModel | None, dict[str, Any]]]:
        entries: list[BaseModelEntry] = self.parsed["base_models"]
        self._duplicates("base_models", [e.name for e in entries])
        planned = []
        for entry in entries:
            row = self.state.models.get(entry.name)
            values, changes = _model_values(entry, row)
            self._record("base_models", entry.name, row, changes)
            planned.append((entry, row, values))
        return planned

    def deployments(self) -> list[DeploymentPlan]:
        entries: list[DeploymentEntry] = self.parsed["deployments"]
        self._duplicates("deployments", [f"{e.provider}/{e.deployment_id}" for e in entries])
        # With --prune, what the file does not name is deleted: references must be in it.
        provider_keys = {e.slug for e in self.parsed["providers"]}
        model_keys = {e.name for e in self.parsed["base_models"]}
        if not self.prune:
            provider_keys |= set(self.state.providers)
            model_keys |= set(self.state.models)
        where_known = "in the file" if self.prune else "in the file or the catalog"
        planned = []
        for index, entry in enumerate(entries):
            key = f"{entry.provider}/{entry.deployment_id}"
            label = f"deployments[{index}] ({key})"
            if entry.provider not in provider_keys:
                self.problems.append(
                    f"{label}: provider: no provider '{entry.provider}' {where_known}"
                )
            if entry.base_model not in model_keys:
                self.problems.append(
                    f"{label}: base_model: no base model '{entry.base_model}' {where_known}"
                )
            planned.append(self._deployment(entry, label, key))
        return planned

    def _deployment(self, entry: DeploymentEntry, label: str, key: str) -> DeploymentPlan:
        row = self.state.deployments.get((entry.provider, entry.deployment_id))
        sent = entry.model_fields_set if row is not None else set(type(entry).model_fields)
        values = {name: getattr(entry, name) for name in _PLAIN_DEPLOYMENT_FIELDS if name in sent}
        changes = [] if row is None else _diff(row, values)
        if row is not None:
            values = {c.name: c.new for c in changes}
            current_model = self.state.model_names.get(row.base_model_id)
            if "base_model" in sent and entry.base_model != current_model:
                changes.append(FieldChange("base_model", current_model, entry.base_model))
        override = _override_values(entry, row)
        if override is not None:
            values["capabilities"] = override[0]
            changes.extend(override[1] if row is not None else [])
        if row is None:
            self.problems.extend(
                f"{label}: {name}: a new deployment states it (null: unknown)"
                for name in ("cost_per_1m_input", "cost_per_1m_output")
                if name not in entry.model_fields_set
            )
        price_plan: PricePlan | None = None
        if row is None or entry.price_sent():
            current, current_source = _current_price(row)
            sent = entry.model_fields_set
            resolved = _resolve_price(entry, sent, current, current_source, new_row=row is None)
            if resolved.source is None and any(
                getattr(entry, name) is not None for name in _SOURCE_FIELDS if name in sent
            ):
                self.problems.append(f"{label}: price_source_kind: a price source needs a price")
            found = _price_changes("", current, current_source, resolved)
            if found:
                price_plan = resolved
                changes.extend(found if row is not None else [])
        existing = self.state.regional.get(row.id, {}) if row is not None else {}
        regional_changes: list[FieldChange] = []
        regional = _regional_plan(entry, existing, regional_changes)
        changes.extend(regional_changes if row is not None else [])
        self._record("deployments", key, row, changes)
        return DeploymentPlan(entry, row, values, price_plan, regional)

    def prunable(self) -> tuple[list[ModelDeployment], list[BaseModel]]:
        keep_d = {(e.provider, e.deployment_id) for e in self.parsed["deployments"]}
        keep_m = {e.name for e in self.parsed["base_models"]}
        gone_d = sorted(k for k in self.state.deployments if k not in keep_d)
        gone_m = sorted(k for k in self.state.models if k not in keep_m)
        return [self.state.deployments[k] for k in gone_d], [self.state.models[k] for k in gone_m]
