"""Store a suite outcome: one certification row per (deployment, region), upserted.

What a run observes about each capability (true, false, or null when inconclusive) is stored
on that region's row (`observed_capabilities`). The deployment's catalog capabilities are
then derived from *every* region's definite observations (`merge_observations`), so the last
region to finish does not win and a transient error never rewrites the catalog:

- true when any region definitively passed the capability's test;
- false only when at least one region definitively failed it and none passed;
- unchanged when no region has a definite result (inconclusive never counts).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

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
    # An inconclusive row has no verdict, so neither a rating nor a badge to show.
    undecided = s.status is CertificationStatus.INCONCLUSIVE
    row.rating = None if undecided else s.rating
    row.partial_rating = None if undecided else s.partial_rating
    row.score = None if undecided else round(s.rating / 5 * 100, 1)
    row.badge = None if undecided else s.badge.value
    row.scores = s.as_dict()
    figures = outcome.figures
    row.observed_capabilities = dict(outcome.capabilities_seen) or None
    row.transient_errors = outcome.transient
    row.throttled_calls = outcome.throttled
    row.inconclusive_tests = len(outcome.inconclusive)
    row.latency_p50_ms = outcome.latency_p50_ms
    row.latency_p95_ms = outcome.latency_p95_ms
    row.ttft_p50_ms = outcome.ttft_p50_ms
    row.tool_schema_accuracy = figures.get("tool_schema_accuracy")
    row.tool_trigger_f1 = figures.get("tool_trigger_f1")
    row.metrics = {
        "throttled_calls": outcome.throttled,
        "transient_errors": outcome.transient,
        "capability_mismatches": outcome.mismatches,
        "inconclusive_tests": outcome.inconclusive,
        "provider_calls": outcome.calls,
        "time_to_first_token_ms": outcome.ttft_p50_ms,
        **figures,
    }
    row.rating_updated_at = now
    row.last_tested_at = now
    row.certified_at = None if undecided or s.status is CertificationStatus.FAILED else now
    row.expires_at = now + timedelta(days=expires_days)
    row.completed_at = now
    row.started_at = now - timedelta(milliseconds=outcome.duration_ms)
    row.duration = outcome.duration_ms
    row.job_id = job_id
    row.created_by = created_by
    if outcome.error is None and outcome.capabilities_seen:
        await session.flush()
        merged = merge_observations(await _observations(session, deployment.id))
        current = deployment.capabilities or {}
        if any(current.get(k) is not v for k, v in merged.items()):
            deployment.capabilities = {**current, **merged}
        if merged:
            deployment.capabilities_verified_at = now
            deployment.capabilities_source = CapabilitiesSource.AUTO_TEST
    return row


def _first_category(outcome: SuiteOutcome) -> str | None:
    return next((r.error_category for r in outcome.results if r.error_category), None)


def merge_observations(observations: list[dict[str, Any]]) -> dict[str, bool]:
    """The catalog's capabilities from every region's observations (see the module doc)."""
    verdicts: dict[str, bool] = {}
    for observed in observations:
        for capability, value in observed.items():
            if isinstance(value, bool):
                verdicts[capability] = verdicts.get(capability, False) or value
    return verdicts


async def _observations(session: AsyncSession, deployment_id: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(ModelCertification.observed_capabilities).where(
            ModelCertification.deployment_id == deployment_id
        )
    )
    return [observed for observed in rows.scalars() if isinstance(observed, dict)]
