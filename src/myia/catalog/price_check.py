"""`myia prices check` and the admin catalog page's price check: which prices need attention.

Three findings, over the active deployments of active providers (what can serve traffic):
- **unpriced**: no input or output price per 1M tokens (and, for a provisioned deployment,
  no price per hour either): its calls cost "unknown" and cheapest-route selection cannot
  rank it;
- **stale**: the price was read at its source more than `max_age_days` ago, or never dated;
- **differs**: the bundled table (`myia/data/pricing.yaml`) states another price, and the
  table's figure is at least as recent as the deployment's (an operator's newer entry is a
  deliberate override, not drift).

One read of the catalog (one joined select of plain columns), then in-memory checks.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.enums import InferenceType, PriceSourceKind
from myia.db.models import BaseModel as BaseModelRow
from myia.db.models import ModelDeployment, Provider
from myia.db.types import utcnow
from myia.errors import InvalidInputError
from myia.maintenance.pricing_file import PricingTable, default_pricing

DEFAULT_MAX_AGE_DAYS = 180
MAX_AGE_DAYS_LIMIT = 3650
# Rows listed per finding; the counts are always complete.
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
# Float noise is not a price difference (prices are stored as floats).
_TOLERANCE = 1e-9

Finding = Literal["unpriced", "stale", "differs"]


class PriceIssue(BaseModel):
    model_config = ConfigDict(frozen=True)

    finding: Finding
    deployment_row_id: str = Field(description="model_deployments.id")
    provider: str = Field(description="Provider slug")
    deployment_id: str = Field(description="The provider's model id")
    model: str = Field(description="Base model name")
    cost_per_1m_input: float | None
    cost_per_1m_output: float | None
    price_source_kind: PriceSourceKind | None
    price_source_name: str | None
    price_as_of: date | None
    # differs: the bundled table's figures and date.
    bundled_input: float | None = None
    bundled_output: float | None = None
    bundled_as_of: date | None = None
    detail: str


class PriceCheckReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    checked: int = Field(description="Active deployments of active providers checked")
    max_age_days: int
    today: date
    counts: dict[str, int] = Field(description="Findings per kind (complete)")
    issues: list[PriceIssue] = Field(description="At most `limit` per kind")
    truncated: bool = Field(description="True when some findings are not listed")

    @property
    def needs_attention(self) -> bool:
        return any(self.counts.values())

    def of(self, finding: Finding) -> list[PriceIssue]:
        return [i for i in self.issues if i.finding == finding]


_COLUMNS = (
    ModelDeployment.id,
    Provider.slug,
    ModelDeployment.deployment_id,
    BaseModelRow.name,
    ModelDeployment.inference_type,
    ModelDeployment.cost_per_1m_input,
    ModelDeployment.cost_per_1m_output,
    ModelDeployment.cost_per_hour,
    ModelDeployment.price_source_kind,
    ModelDeployment.price_source_name,
    ModelDeployment.price_as_of,
)


def _issue(row: Any, finding: Finding, detail: str, **extra: Any) -> PriceIssue:
    (row_id, slug, deployment_id, name, _type, cost_in, cost_out, _hour, kind, source, as_of) = row
    return PriceIssue(
        finding=finding,
        deployment_row_id=row_id,
        provider=slug,
        deployment_id=deployment_id,
        model=name,
        cost_per_1m_input=cost_in,
        cost_per_1m_output=cost_out,
        price_source_kind=kind,
        price_source_name=source,
        price_as_of=as_of,
        detail=detail,
        **extra,
    )


def _differs(a: float | None, b: float) -> bool:
    return a is None or abs(a - b) > _TOLERANCE


def _findings(row: Any, pricing: PricingTable, oldest: date, max_age_days: int) -> list[PriceIssue]:
    (
        _id,
        slug,
        deployment_id,
        _name,
        inference_type,
        cost_in,
        cost_out,
        hour,
        kind,
        _src,
        as_of,
    ) = row
    per_token = cost_in is not None and cost_out is not None
    if not per_token and not (inference_type is InferenceType.PROVISIONED and hour is not None):
        entry = pricing.entry_for(slug, deployment_id)
        hint = "the bundled table has it" if entry else "not in the bundled table either"
        return [_issue(row, "unpriced", f"no price per 1M tokens ({hint})")]
    found: list[PriceIssue] = []
    if as_of is None:
        found.append(_issue(row, "stale", "the price has no as-of date"))
    elif as_of < oldest:
        found.append(_issue(row, "stale", f"read {as_of.isoformat()}, over {max_age_days} days"))
    entry = pricing.entry_for(slug, deployment_id)
    if (
        entry is not None
        and per_token
        and (_differs(cost_in, entry.input) or _differs(cost_out, entry.output))
        # An operator's entry newer than the table's is a deliberate override.
        and not (kind is PriceSourceKind.OPERATOR and as_of is not None and as_of > entry.as_of)
    ):
        found.append(
            _issue(
                row,
                "differs",
                f"bundled table: {entry.input:g} / {entry.output:g} as of "
                f"{entry.as_of.isoformat()}",
                bundled_input=entry.input,
                bundled_output=entry.output,
                bundled_as_of=entry.as_of,
            )
        )
    return found


async def check_prices(
    *,
    session: AsyncSession,
    max_age_days: int = DEFAULT_MAX_AGE_DAYS,
    limit: int = DEFAULT_LIMIT,
    today: date | None = None,
    pricing: PricingTable | None = None,
) -> PriceCheckReport:
    """The price check of the catalog (see the module docstring); `today` for tests."""
    if not 0 <= max_age_days <= MAX_AGE_DAYS_LIMIT:
        raise InvalidInputError("max_age_days", f"0 to {MAX_AGE_DAYS_LIMIT} days")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError("limit", f"1 to {MAX_LIMIT} rows per finding")
    today = today or utcnow().date()
    pricing = pricing or default_pricing()
    connection = await session.connection()
    rows = (
        await connection.execute(
            select(*_COLUMNS)
            .join(Provider, ModelDeployment.provider_id == Provider.id)
            .join(BaseModelRow, ModelDeployment.base_model_id == BaseModelRow.id)
            .where(ModelDeployment.is_active.is_(True), Provider.is_active.is_(True))
            .order_by(Provider.slug, ModelDeployment.deployment_id, ModelDeployment.id)
        )
    ).all()
    oldest = today - timedelta(days=max_age_days)
    counts: dict[str, int] = {"unpriced": 0, "stale": 0, "differs": 0}
    issues: list[PriceIssue] = []
    for row in rows:
        for issue in _findings(row, pricing, oldest, max_age_days):
            counts[issue.finding] += 1
            if counts[issue.finding] <= limit:
                issues.append(issue)
    return PriceCheckReport(
        checked=len(rows),
        max_age_days=max_age_days,
        today=today,
        counts=counts,
        issues=issues,
        truncated=any(n > limit for n in counts.values()),
    )
