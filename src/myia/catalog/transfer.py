"""`myia catalog import`: a catalog file upserted by natural key, all of it or nothing.

Three steps in one transaction: validate every entry (the API's schemas, `transfer_schema`)
and every reference, then plan (each entry's field changes against the database, old → new),
then, unless it is a dry run, apply the plan and commit once. Any problem found by the first
two steps refuses the whole file before anything is written, naming each entry; a failure
while applying rolls everything back.

An entry's fields that the file leaves out keep their stored values (a new row takes the
defaults); a field given, `null` included, is set. Prices go through `record_price_change`
(history kept, via "import") with the API's rule for their source: a price without
`price_source_kind` is the operator's entry, dated today unless `price_as_of` says, and an
unchanged price keeps its source. `regional_prices`, when given, is the deployment's whole set.
Rows the file does not name are kept, unless `prune`: then deployments and base models it
lacks are deleted (providers never are: the API has no provider delete; deactivate instead).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from myia.catalog.cache import ALL_NAMESPACES, CatalogCache
from myia.catalog.price_history import ChangeVia, record_price_change
from myia.catalog.transfer_plan import (
    Action,
    DeploymentPlan,
    EntryChange,
    Planner,
    load_state,
)
from myia.catalog.transfer_schema import (
    SECTIONS,
    BaseModelEntry,
    CatalogFileError,
    ProviderEntry,
    load_yaml,
    parse_document,
)
from myia.db.models import BaseModel, ModelDeployment, Provider

_DELETE_CHUNK = 500


@dataclass
class ImportReport:
    dry_run: bool
    entries: list[EntryChange] = field(default_factory=list)
    unchanged: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SECTIONS, 0))
    # Rows the file does not name, left as they are (no --prune, or providers).
    kept: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SECTIONS, 0))

    def count(self, section: str, action: Action) -> int:
        return sum(1 for e in self.entries if e.section == section and e.action == action)

    @property
    def changes(self) -> int:
        return len(self.entries)


async def _apply(
    session: AsyncSession,
    planner: Planner,
    providers: list[tuple[ProviderEntry, Provider | None, dict[str, Any]]],
    models: list[tuple[BaseModelEntry, BaseModel | None, dict[str, Any]]],
    deployments: list[DeploymentPlan],
    pruned: tuple[list[ModelDeployment], list[BaseModel]],
    changed_by: str | None,
) -> None:
    state = planner.state
    for _, row, values in providers:
        if row is None:
            row = Provider(**values)
            session.add(row)
            state.providers[row.slug] = row
        else:
            _set(row, values)
    for model_entry, model, values in models:
        if model is None:
            model = BaseModel(name=model_entry.name, **values)
            session.add(model)
            state.models[model_entry.name] = model
        else:
            _set(model, values)
    await session.flush()  # the new rows' ids, which deployments reference
    for plan in deployments:
        entry = plan.entry
        values = {
            **plan.values,
            "base_model_id": state.models[entry.base_model].id,
            "provider_id": state.providers[entry.provider].id,
        }
        if plan.row is None:
            plan.row = ModelDeployment(deployment_id=entry.deployment_id, **values)
            session.add(plan.row)
        else:
            _set(plan.row, values)
    await session.flush()
    for plan in deployments:
        assert plan.row is not None  # set above
        if plan.price is not None:
            await record_price_change(
                session=session,
                deployment=plan.row,
                price=plan.price.price,
                source=plan.price.source,
                via=ChangeVia.IMPORT,
                changed_by=changed_by,
            )
        for region, regional in plan.regional.items():
            await record_price_change(
                session=session,
                deployment=plan.row,
                price=None if regional is None else regional.price,
                source=None if regional is None else regional.source,
                via=ChangeVia.IMPORT,
                changed_by=changed_by,
                region=region,
            )
    gone_deployments, gone_models = pruned
    # Core deletes: the database cascades certifications, regional prices and history.
    await _delete(session, ModelDeployment, [row.id for row in gone_deployments])
    await _delete(session, BaseModel, [row.id for row in gone_models])


def _set(row: Any, values: dict[str, Any]) -> None:
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


async def _delete(
    session: AsyncSession, table: type[ModelDeployment | BaseModel], ids: list[str]
) -> None:
    for start in range(0, len(ids), _DELETE_CHUNK):
        chunk = ids[start : start + _DELETE_CHUNK]
        await session.execute(
            delete(table).where(table.id.in_(chunk)).execution_options(synchronize_session=False)
        )


async def import_catalog(
    *,
    session: AsyncSession,
    cache: CatalogCache,
    text: str | bytes,
    dry_run: bool = False,
    prune: bool = False,
    changed_by: str | None = None,
) -> ImportReport:
    """Validate, plan and (unless `dry_run`) apply a catalog file in one transaction.

    Raises `InvalidInputError` (a `CatalogFileError` listing every problem, each naming its
    entry) before writing anything when the file or any entry is refused."""
    parsed = parse_document(load_yaml(text))
    state = await load_state(session)
    planner = Planner(state, parsed, prune)
    providers = planner.providers()
    models = planner.models()
    deployments = planner.deployments()
    if planner.problems:
        raise CatalogFileError(planner.problems)
    report = ImportReport(dry_run=dry_run, entries=planner.report_entries)
    report.unchanged = planner.unchanged
    gone: tuple[list[ModelDeployment], list[BaseModel]] = ([], [])
    gone_d, gone_m = planner.prunable()
    if prune:
        gone = (gone_d, gone_m)
        slugs = {p.id: slug for slug, p in state.providers.items()}
        report.entries.extend(
            EntryChange("deployments", f"{slugs[d.provider_id]}/{d.deployment_id}", "delete")
            for d in gone_d
        )
        report.entries.extend(EntryChange("base_models", m.name, "delete") for m in gone_m)
    else:
        report.kept["deployments"] = len(gone_d)
        report.kept["base_models"] = len(gone_m)
    named = {e.slug for e in parsed["providers"]}
    report.kept["providers"] = sum(1 for slug in state.providers if slug not in named)
    if dry_run or not report.entries:
        await session.rollback()
        return report
    try:
        await _apply(session, planner, providers, models, deployments, gone, changed_by)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    await cache.invalidate_now(*ALL_NAMESPACES)
    return report
