"""Store a suite outcome: one certification row per (deployment, region), upserted.

The row carries every result field of schema v2; the capabilities the suite saw are written
back to the deployment (`capabilities_source = auto_test`) so the catalog reflects what was
proven rather than what was claimed.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification.runner import SuiteOutcome
from myia.db.enums import CapabilitiesSource, CertificationStatus
from myia.db.models import ModelCertification, ModelDeployment
from myia.db.types import utcnow


async def get_certification(
    *, session: AsyncSession, deployment_id: str, region: str
) -> ModelCertification | None:
    result = await session.execute(
        select(ModelCertification).where(
            ModelCertification.deployment_id == deployment_id, ModelCertification.region == region
        )
    )
    return result.scalar_one_or_none()


def claimed_capabilities(deployment: ModelDeployment) -> dict[str, bool]:
    """What a certification must test: the base model's claims, overridden by the
    deployment's own claims while those are manual.

    Once certification has written its observations back (`capabilities_source = auto_test`)
    they are results, not claims: a capability the base model claims is tested again in every
    region even if it failed somewhere, and one proven on the deployment stays tested.
    """
    merged = {
        k: v for k, v in (deployment.base_model.capabilities or {}).items() if isinstance(v, bool)
    }
    own = {k: v for k, v in (deployment.capabilities or {}).items() if isinstance(v, bool)}
    if deployment.capabilities_source is CapabilitiesSource.AUTO_TEST:
        merged.update({k: True for k, v in own.items() if v})
    else:
        merged.update(own)
    return merged


async def save_outcome(
    *,
    session: AsyncSession,
    deployment: ModelDeployment,
    region: str,
    outcome: SuiteOutcome,
    expires_days: int,
    job_id: str | None = None,
    created_by: str | None = None,
) -> ModelCertification:
    """Upsert the certification of (deployment, region); the caller commits."""
    row = await get_certification(session=session, deployment_id=deployment.id, region=region)
    if row is None:
        row = ModelCertification(deployment_id=deployment.id, region=region)
        session.add(row)
    now = utcnow()
    s = outcome.score
    row.status = s.status
    row.passed = s.status is CertificationStatus.CERTIFIED
    row.tests_passed = outcome.passed
    row.tests_failed = outcome.failed
    row.success_rate = round(s.success_rate, 4)
    row.avg_latency_ms = outcome.avg_latency_ms
    row.test_results = [r.as_dict() for r in outcome.results]
    row.failure_reasons = outcome.failure_reasons or None
    row.last_error = outcome.failure_reasons[0] if outcome.failure_reasons else None
    row.error_message = outcome.error.message if outcome.error else None
    row.error_category = outcome.error.category.value if outcome.error else _first_category(outcome)
    row.error_severity = outcome.error.severity.value if outcome.error else None
    row.rating = s.rating
    row.score = round(s.rating / 5 * 100, 1)
    row.badge = s.badge.value
    row.scores = s.as_dict()
    row.metrics = {
        "throttled_calls": outcome.throttled,
        "capability_mismatches": outcome.mismatches,
        "time_to_first_token_ms": next(
            (r.time_to_first_token_ms for r in outcome.results if r.time_to_first_token_ms), None
        ),
    }
    row.rating_updated_at = now
    row.last_tested_at = now
    row.certified_at = now if s.status is not CertificationStatus.FAILED else None
    row.expires_at = now + timedelta(days=expires_days)
    row.completed_at = now
    row.started_at = now - timedelta(milliseconds=outcome.duration_ms)
    row.duration = outcome.duration_ms
    row.job_id = job_id
    row.created_by = created_by
    if outcome.error is None and outcome.capabilities_seen:
        deployment.capabilities = {**(deployment.capabilities or {}), **outcome.capabilities_seen}
        deployment.capabilities_verified_at = now
        deployment.capabilities_source = CapabilitiesSource.AUTO_TEST
    return row


def _first_category(outcome: SuiteOutcome) -> str | None:
    return next((r.error_category for r in outcome.results if r.error_category), None)
