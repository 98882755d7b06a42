"""Turn an operator's selection (models, vendor, region, all, recertify…) into work items.

Availability first: a regional (Bedrock) deployment is paired only with the requested
regions where it is known to be offered — `provider_config["regions"]`, written by discovery
(the union of the regions whose listing showed it) or entered by an admin. A deployment with
no `regions` key at all has unknown availability and is paired with every requested region,
as before discovery existed. Providers without regions (OpenAI-compatible) have one
pseudo-region, `global`: a selection of models, a vendor, a provider or all certifies them
there once; a selection of regions alone ("every deployment in R") does not, unless `global`
is one of the regions. Every pair left out is kept with its reason (`Selected.skipped`) for
the report; `probe_unlisted` pairs regional deployments with the regions anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from pydantic import Field, StrictBool, ValidationInfo, field_validator
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from myia.certification.regions import GLOBAL_REGION, unknown_regions
from myia.db.enums import AuthType, CertificationJobType
from myia.db.models import BaseModel as BaseModelRow
from myia.db.models import ModelCertification, ModelDeployment, Provider
from myia.db.types import utcnow
from myia.errors import InvalidInputError
from myia.validation import StrictInput

Recertify = Literal["expired", "older_than", "uncertified"]


# The largest cap a job may be given (USD): a typo of a few zeros is refused, not spent.
MAX_COST_USD = 100_000.0


class JobSelection(StrictInput):
    """What to certify. `models` accepts base model ids or names, deployment row ids, or
    provider deployment ids (e.g. `anthropic.claude-3-5-haiku-20241022-v1:0`)."""

    models: list[str] = Field(default_factory=list, examples=[["amazon.nova-micro-v1:0"]])
    vendor: str | None = Field(default=None, examples=["mistral"])
    provider: str | None = Field(default=None, examples=["bedrock"])
    all: StrictBool = False
    recertify: Recertify | None = None
    older_than_days: int | None = Field(default=None, ge=1, validate_default=True)
    regions: list[str] = Field(default_factory=list, examples=[["us-east-1", "eu-west-1"]])
    deep: StrictBool = Field(
        default=False, description="Run the long tool-call battery (52 prompts instead of 12)"
    )
    probe_unlisted: StrictBool = Field(
        default=False,
        description="Also certify in requested regions where the deployment is not known to "
        "be offered (by default those are skipped, with the reason in the report)",
    )
    max_cost: float | None = Field(
        default=None,
        gt=0,
        le=MAX_COST_USD,
        examples=[0.5],
        description="Stop before spending more (USD): an item whose estimated maximum no "
        "longer fits under the cap is not started and is cancelled with the outcome `budget`",
    )
    allow_unpriced: StrictBool = Field(
        default=False,
        description="With `max_cost`: run deployments with no known price too (their cost is "
        "unknown, so the cap cannot bound them); without it such a job is refused",
    )

    # Field validators rather than one model validator: the API's 422 then names the field.
    @field_validator("all")
    @classmethod
    def _all_alone(cls, value: bool, info: ValidationInfo) -> bool:
        if value and (info.data.get("models") or info.data.get("vendor")):
            raise ValueError("choose either `all` or `models`/`vendor`, not both")
        return value

    @field_validator("older_than_days")
    @classmethod
    def _days_with_older_than(cls, value: int | None, info: ValidationInfo) -> int | None:
        if info.data.get("recertify") == "older_than" and value is None:
            raise ValueError("required with recertify=older_than")
        return value

    def job_type(self, deployments: int) -> CertificationJobType:
        if self.recertify:
            return CertificationJobType.RECERTIFY
        if self.all:
            return CertificationJobType.ALL_MODELS
        return (
            CertificationJobType.SINGLE_MODEL
            if deployments == 1
            else CertificationJobType.MULTIPLE_MODELS
        )


def _is_regional(deployment: ModelDeployment) -> bool:
    return deployment.provider.auth_type is AuthType.AWS_CREDENTIALS


def offered_regions(deployment: ModelDeployment) -> list[str] | None:
    """Regions the deployment is known to be offered in; None = unknown (no `regions` key)."""
    regions = (deployment.provider_config or {}).get("regions")
    return [str(r) for r in regions] if isinstance(regions, list) else None


@dataclass(frozen=True)
class Skipped:
    deployment: ModelDeployment
    region: str
    reason: str


@dataclass
class Selected:
    """What a selection resolves to: the deployments, the pairs to certify, the pairs left
    out (with why), and the regions asked for (explicit or the defaults)."""

    deployments: list[ModelDeployment]
    pairs: list[tuple[ModelDeployment, str]]
    skipped: list[Skipped] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)


def _not_offered(deployment: ModelDeployment, region: str) -> str:
    offered = offered_regions(deployment) or []
    where = ", ".join(sorted(offered)) if offered else "no region"
    return (
        f"not offered in {region} (known to be offered in {where}; run `myia models discover "
        f"--region {region}` or probe it anyway with --probe-unlisted)"
    )


def _pair(
    deployments: list[ModelDeployment], selection: JobSelection, regions: list[str]
) -> tuple[list[tuple[ModelDeployment, str]], list[Skipped]]:
    pairs: list[tuple[ModelDeployment, str]] = []
    skipped: list[Skipped] = []
    named = [r for r in selection.regions if r != GLOBAL_REGION]
    regions_only = not (selection.models or selection.vendor or selection.provider)
    regions_only = regions_only and not selection.all and bool(named)
    wants_global = GLOBAL_REGION in selection.regions or not regions_only
    for deployment in deployments:
        if not _is_regional(deployment):
            if wants_global:
                pairs.append((deployment, GLOBAL_REGION))
            else:
                for region in named:
                    reason = f"not in {region}: a provider without regions, certified in `global`"
                    skipped.append(Skipped(deployment, region, reason))
            continue
        offered = offered_regions(deployment)
        for region in regions:
            if region == GLOBAL_REGION:
                continue
            if offered is None or region in offered or selection.probe_unlisted:
                pairs.append((deployment, region))
            else:
                skipped.append(Skipped(deployment, region, _not_offered(deployment, region)))
    return pairs, skipped


async def _deployments(session: AsyncSession, sel: JobSelection) -> list[ModelDeployment]:
    query = (
        select(ModelDeployment)
        .join(ModelDeployment.base_model)
        .join(ModelDeployment.provider)
        .where(ModelDeployment.is_active.is_(True), Provider.is_active.is_(True))
        .options(selectinload(ModelDeployment.base_model), selectinload(ModelDeployment.provider))
        .order_by(BaseModelRow.vendor, BaseModelRow.name, ModelDeployment.deployment_id)
    )
    if sel.vendor:
        query = query.where(func.lower(BaseModelRow.vendor) == sel.vendor.lower())
    if sel.provider:
        query = query.where(Provider.slug == sel.provider)
    if sel.models:
        query = query.where(
            or_(
                ModelDeployment.id.in_(sel.models),
                ModelDeployment.deployment_id.in_(sel.models),
                BaseModelRow.id.in_(sel.models),
                BaseModelRow.name.in_(sel.models),
            )
        )
    deployments = list((await session.execute(query)).scalars().unique())
    if sel.models:
        known = {d.id for d in deployments} | {d.deployment_id for d in deployments}
        known |= {d.base_model.id for d in deployments} | {d.base_model.name for d in deployments}
        missing = [m for m in sel.models if m not in known]
        if missing:
            raise InvalidInputError("models", f"unknown model(s): {', '.join(missing)}")
    return deployments


async def _existing(
    session: AsyncSession, sel: JobSelection, deployment_ids: list[str]
) -> set[tuple[str, str]]:
    """(deployment, region) pairs that the recertify filter keeps."""
    query = select(ModelCertification.deployment_id, ModelCertification.region).where(
        ModelCertification.deployment_id.in_(deployment_ids)
    )
    now = utcnow()
    if sel.recertify == "expired":
        query = query.where(ModelCertification.expires_at < now)
    elif sel.recertify == "older_than":
        cutoff = now - timedelta(days=sel.older_than_days or 0)
        query = query.where(
            func.coalesce(ModelCertification.last_tested_at, ModelCertification.created_at) < cutoff
        )
    return {(d, r) for d, r in (await session.execute(query)).all()}


async def resolve_items(
    *, session: AsyncSession, selection: JobSelection, default_regions: list[str]
) -> tuple[list[ModelDeployment], list[tuple[ModelDeployment, str]]]:
    """The deployments selected and the (deployment, region) pairs to certify."""
    selected = await resolve_selection(
        session=session, selection=selection, default_regions=default_regions
    )
    return selected.deployments, selected.pairs


async def resolve_selection(
    *, session: AsyncSession, selection: JobSelection, default_regions: list[str]
) -> Selected:
    """`resolve_items` with the pairs left out and why. Raises InvalidInputError when
    nothing is left to certify, saying why (no deployment offered in the region asked…)."""
    if not (
        selection.models
        or selection.vendor
        or selection.all
        or selection.recertify
        or selection.regions
        or selection.provider
    ):
        raise InvalidInputError("selection", "choose models, a vendor, a region, or all")
    bad = unknown_regions(selection.regions)
    if bad:
        raise InvalidInputError("regions", f"unknown region(s): {', '.join(bad)}")
    regions = selection.regions or default_regions
    deployments = await _deployments(session, selection)
    pairs, skipped = _pair(deployments, selection, regions)
    if not pairs and not selection.recertify:
        raise NothingOfferedError(_nothing_to_certify(deployments, skipped), skipped)
    if selection.recertify == "uncertified":
        certified = await _existing(
            session, selection.model_copy(update={"recertify": None}), [d.id for d in deployments]
        )
        pairs = [(d, r) for d, r in pairs if (d.id, r) not in certified]
    elif selection.recertify:
        # Expired/old certifications are re-run where they are, whatever the default regions.
        by_id = {d.id: d for d in deployments}
        existing = await _existing(session, selection, list(by_id))
        skipped = []
        pairs = sorted(
            ((by_id[d], r) for d, r in existing if not selection.regions or r in selection.regions),
            key=lambda pair: (pair[0].deployment_id, pair[1]),
        )
    if not pairs:
        raise InvalidInputError("selection", "the selection matched no deployment to certify")
    return Selected(deployments, pairs, skipped, regions)


class NothingOfferedError(InvalidInputError):
    """Every (deployment, region) pair asked for was skipped: a 422 on `selection`, with the
    skipped pairs kept so that the CLI can show them (the message only counts them)."""

    def __init__(self, message: str, skipped: list[Skipped]) -> None:
        super().__init__("selection", message)
        self.skipped = skipped


def _nothing_to_certify(deployments: list[ModelDeployment], skipped: list[Skipped]) -> str:
    if not deployments or not skipped:
        return "the selection matched no deployment to certify"
    asked = sorted({s.region for s in skipped})
    noun = "region" if len(asked) == 1 else "regions"
    return (
        f"no selected deployment is offered in {noun} {', '.join(asked)} "
        f"({len(skipped)} deployment × region pair(s) skipped, nothing was created); "
        "run `myia models discover --region R` if the provider added models there, or "
        "pass --probe-unlisted to certify them anyway"
    )
