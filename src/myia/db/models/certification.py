"""Certification tables: one result per (deployment, region), and the jobs that produce them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from myia.db.base import Base, IdMixin, TimestampMixin
from myia.db.enums import (
    CertificationJobType,
    CertificationStatus,
    JobItemStatus,
    JobStatus,
    db_enum,
)
from myia.db.types import JSONType, UTCDateTime

_BADGE_COLUMNS = (
    "deployment_id",
    "region",
    "status",
    "badge",
    "rating",
    "certified_at",
    "expires_at",
)


class ModelCertification(IdMixin, TimestampMixin, Base):
    __tablename__ = "model_certifications"
    __table_args__ = (
        UniqueConstraint("deployment_id", "region"),
        Index(None, "status"),
        Index(None, "region"),
        Index(None, "job_id"),
        Index(None, "badge"),
        Index(None, "created_at"),
        # What a catalog badge shows: index-only lookups per deployment (migration 0009).
        Index("ix_model_certifications_badges", *_BADGE_COLUMNS),
    )

    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("model_deployments.id", ondelete="CASCADE")
    )
    region: Mapped[str] = mapped_column(String(50))
    status: Mapped[CertificationStatus] = mapped_column(
        db_enum(CertificationStatus, "certification_status"), default=CertificationStatus.PENDING
    )
    certified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    certified_by: Mapped[str | None] = mapped_column(String(200))
    last_tested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    tests_passed: Mapped[int] = mapped_column(Integer, default=0)
    tests_failed: Mapped[int] = mapped_column(Integer, default=0)
    success_rate: Mapped[float] = mapped_column(Float, default=0.0)
    avg_latency_ms: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    failure_reasons: Mapped[list[Any] | None] = mapped_column(JSONType)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    score: Mapped[float | None] = mapped_column(Float)
    test_results: Mapped[list[Any] | None] = mapped_column(JSONType)
    error_message: Mapped[str | None] = mapped_column(Text)
    error_category: Mapped[str | None] = mapped_column(String(50))
    error_severity: Mapped[str | None] = mapped_column(String(20))
    rating: Mapped[float | None] = mapped_column(Float)
    badge: Mapped[str | None] = mapped_column(String(20))
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    scores: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    rating_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    job_id: Mapped[str | None] = mapped_column(String(36))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration: Mapped[int | None] = mapped_column(Integer)  # milliseconds
    created_by: Mapped[str | None] = mapped_column(String(36))
    # The formula's rating before the status capped it (a FAILED row's rating is 0).
    partial_rating: Mapped[float | None] = mapped_column(Float)
    # What this run saw in this region: capability → true, false or null (inconclusive).
    # The deployment's catalog capabilities are derived from every region's row.
    observed_capabilities: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # Absorbed, not held against the deployment: retried transient errors and throttles.
    transient_errors: Mapped[int] = mapped_column(Integer, default=0)
    throttled_calls: Mapped[int] = mapped_column(Integer, default=0)
    inconclusive_tests: Mapped[int] = mapped_column(Integer, default=0)
    # Per provider call, request sent → last byte; limiter waits and retry sleeps excluded.
    latency_p50_ms: Mapped[float | None] = mapped_column(Float)
    latency_p95_ms: Mapped[float | None] = mapped_column(Float)
    ttft_p50_ms: Mapped[float | None] = mapped_column(Float)
    tool_schema_accuracy: Mapped[float | None] = mapped_column(Float)
    tool_trigger_f1: Mapped[float | None] = mapped_column(Float)


class CertificationJob(IdMixin, TimestampMixin, Base):
    __tablename__ = "certification_jobs"
    __table_args__ = (
        Index(None, "status"),
        Index(None, "type"),
        Index(None, "created_at"),
    )

    type: Mapped[CertificationJobType] = mapped_column(
        db_enum(CertificationJobType, "certification_job_type")
    )
    regions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    deployment_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    status: Mapped[JobStatus] = mapped_column(
        db_enum(JobStatus, "job_status"), default=JobStatus.PENDING
    )
    total_models: Mapped[int] = mapped_column(Integer, default=0)
    processed_models: Mapped[int] = mapped_column(Integer, default=0)
    success_count: Mapped[int] = mapped_column(Integer, default=0)
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    queue_job_ids: Mapped[list[str] | None] = mapped_column(JSONType)
    config: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_by: Mapped[str | None] = mapped_column(String(36))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Spend (myia.certification.spend): the cap (null: none), what priced items cost, and
    # the estimated maximum of the items running now, held against the cap until they settle.
    max_cost_usd: Mapped[float | None] = mapped_column(Float)
    spent_usd: Mapped[float] = mapped_column(Float, default=0.0)
    reserved_usd: Mapped[float] = mapped_column(Float, default=0.0)


class CertificationJobItem(IdMixin, TimestampMixin, Base):
    """One unit of work of a job: certify one deployment in one region.

    The database, not the queue, is the record of truth: a queue message only names an item;
    whoever runs it claims the row first, so a redelivered or duplicated message is a no-op.
    """

    __tablename__ = "certification_job_items"
    __table_args__ = (
        UniqueConstraint("job_id", "deployment_id", "region"),
        Index(None, "job_id", "status"),
        Index(None, "status"),
    )

    job_id: Mapped[str] = mapped_column(ForeignKey("certification_jobs.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("model_deployments.id", ondelete="CASCADE")
    )
    region: Mapped[str] = mapped_column(String(50))
    status: Mapped[JobItemStatus] = mapped_column(
        db_enum(JobItemStatus, "job_item_status"), default=JobItemStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    throttled: Mapped[int] = mapped_column(Integer, default=0)
    # Give-backs because transient errors left a core test undecided (no attempt charged);
    # bounded by QUEUE_TRANSIENT_RELEASES, then the item is recorded INCONCLUSIVE.
    transient_releases: Mapped[int] = mapped_column(Integer, default=0)
    queue_job_id: Mapped[str | None] = mapped_column(String(100))
    # Not before this time (retry backoff); NULL means now.
    available_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    certification_id: Mapped[str | None] = mapped_column(String(36))
    outcome: Mapped[str | None] = mapped_column(String(30))  # certification status or category
    error: Mapped[str | None] = mapped_column(Text)
    # What its provider calls cost, every attempt added up: null when the deployment is
    # unpriced (`cost_reason` "unpriced"), never 0 for "unknown".
    cost_usd: Mapped[float | None] = mapped_column(Float, default=0.0)
    cost_reason: Mapped[str | None] = mapped_column(String(30))
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    # This item's share of the job's `reserved_usd` while it runs (0 otherwise).
    reserved_usd: Mapped[float] = mapped_column(Float, default=0.0)


class WorkerHeartbeat(Base):
    """A queue worker's last sign of life (shown in /api/health)."""

    __tablename__ = "worker_heartbeats"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    engine: Mapped[str] = mapped_column(String(20))  # embedded | saq
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    active_items: Mapped[int] = mapped_column(Integer, default=0)
    processed_items: Mapped[int] = mapped_column(Integer, default=0)
