"""Request and response shapes of certification jobs, the queue and certifications.

Shared by the REST API (`/api/certification-queue/…`) and the CLI, so both show the same
fields under the same names. Inputs forbid unknown fields; the job selection itself is
`myia.certification.selection.JobSelection`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, computed_field

from myia.catalog.filters import PageParams
from myia.catalog.schemas import Page
from myia.certification.scoring import Badge
from myia.db.enums import CertificationJobType, CertificationStatus, JobItemStatus, JobStatus
from myia.validation import StrictInput

_PUBLIC = ConfigDict(from_attributes=True)


# --- jobs -----------------------------------------------------------------------------------
class JobProgress(BaseModel):
    job_id: str
    type: CertificationJobType
    status: JobStatus
    total: int
    processed: int
    success: int
    failure: int
    percent: float = Field(description="Finished items ÷ items, in %")
    eta_seconds: float | None = Field(
        default=None, description="Remaining items × average item time ÷ concurrency"
    )
    spent_usd: float | None = Field(
        default=None, description="What the job's priced items have cost so far (USD)"
    )
    reserved_usd: float | None = Field(
        default=None,
        description="Estimated maximum of the items running now, held against "
        "the cap until each settles to its actual cost",
    )
    max_cost_usd: float | None = Field(default=None, description="The job's cap; null: none")


class JobPublic(BaseModel):
    model_config = _PUBLIC

    id: str
    type: CertificationJobType
    status: JobStatus
    regions: list[str]
    deployment_ids: list[str] = Field(description="Deployment row ids the job covers")
    total_models: int = Field(
        description="Items (one per deployment × region); the column keeps its old name, "
        "read `total_items`"
    )
    processed_models: int = Field(description="Finished items; read `processed_items`")
    success_count: int
    failure_count: int
    config: dict[str, Any] | None = None
    created_by: str | None = None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    max_cost_usd: float | None = Field(
        default=None, description="Cost cap (USD) set at creation (`max_cost`); null: none"
    )
    spent_usd: float = Field(
        default=0.0,
        description="What the job's provider calls cost, priced items only (unpriced items "
        "are counted in `unpriced_items` of a job's detail, never as free)",
    )
    reserved_usd: float = Field(
        default=0.0, description="Estimated maximum of the items running now (see spent_usd)"
    )

    @computed_field(description="Items: one per (deployment, region)")  # type: ignore[prop-decorator]
    @property
    def total_items(self) -> int:
        return self.total_models

    @computed_field(description="Finished items")  # type: ignore[prop-decorator]
    @property
    def processed_items(self) -> int:
        return self.processed_models


class JobsPublic(BaseModel):
    items: list[JobPublic]
    count: int


class JobItemPublic(BaseModel):
    """One (deployment, region) of a job, with the certification it produced."""

    id: str
    deployment_row_id: str
    deployment_id: str = Field(description="The provider's model id")
    base_model_name: str
    vendor: str
    provider_slug: str
    region: str
    status: JobItemStatus
    outcome: str | None = Field(
        default=None, description="Certification status, or the error category that ended it"
    )
    attempts: int
    throttled: int
    error: str | None = None
    duration_s: float | None = Field(default=None, description="Last attempt, claim → finish")
    claimed_at: datetime | None = None
    finished_at: datetime | None = None
    certification_id: str | None = None
    rating: float | None = None
    badge: str | None = None
    success_rate: float | None = None
    avg_latency_ms: int | None = None
    last_error: str | None = None
    partial_rating: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    transient_errors: int | None = None
    tool_schema_accuracy: float | None = None
    tool_trigger_f1: float | None = None
    cost_usd: float | None = Field(
        default=None,
        description="What this item's provider calls cost, every attempt (USD); null when the "
        "deployment is unpriced (`cost_reason`)",
    )
    cost_reason: str | None = Field(default=None, description="Why `cost_usd` is null")
    tokens_in: int = 0
    tokens_out: int = 0


class JobDetail(JobPublic):
    progress: JobProgress
    items_summary: dict[str, int] = Field(description="Items per status")
    items: list[JobItemPublic]
    uncertified_for_budget: list[str] = Field(
        default_factory=list,
        description="`deployment_id@region` of the items cancelled because they would not fit "
        "under the job's cost cap (outcome `budget`)",
    )
    unpriced_items: list[str] = Field(
        default_factory=list,
        description="`deployment_id@region` of the items run with no known price: their cost "
        "is unknown, not 0",
    )


class CleanRequest(StrictInput):
    """Finished jobs to delete; the defaults come from QUEUE_CLEAN_COMPLETED_H / _FAILED_H."""

    completed_after_h: float | None = Field(default=None, gt=0, examples=[24])
    failed_after_h: float | None = Field(default=None, gt=0, examples=[48])
    dry_run: StrictBool = False


class CleanResult(BaseModel):
    deleted: int = Field(description="Jobs deleted (or that would be, on a dry run)")
    dry_run: bool
    completed_after_h: float
    failed_after_h: float


class SyncResult(BaseModel):
    requeued: int = 0
    dropped: int = 0
    recovered: int = 0
    recounted: int = Field(
        default=0, description="Unfinished jobs whose counters or status the recount changed"
    )


class Last24h(BaseModel):
    items: int
    success_rate: float | None
    retry_rate: float | None
    avg_item_seconds: float | None
    thresholds: dict[str, float]
    alerts: list[str]


class QueueStats(BaseModel):
    waiting: int
    delayed: int
    active: int
    completed: int
    failed: int
    cancelled: int
    jobs: list[JobProgress]
    last_24h: Last24h
    engine: dict[str, Any] = Field(description="The queue engine's own view")
    workers: list[dict[str, Any]] = Field(description="Workers seen through heartbeats")


# --- certifications -------------------------------------------------------------------------
class CertificationQuery(BaseModel):
    """Which certifications: every filter is optional and they combine with AND."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    deployment: str | None = Field(
        default=None,
        max_length=300,
        description="Deployment row id or the provider's model id",
        examples=["anthropic.claude-3-5-sonnet-20241022-v2:0"],
    )
    model: str | None = Field(
        default=None, max_length=200, description="Base model id or name", examples=["GPT-4o"]
    )
    vendor: str | None = Field(default=None, max_length=100, description="Case-insensitive")
    provider: str | None = Field(default=None, max_length=64, description="Provider slug")
    region: str | None = Field(default=None, max_length=50, examples=["us-east-1"])
    status: CertificationStatus | None = None
    badge: Badge | None = None


class CertificationFilters(CertificationQuery, PageParams):
    pass


class CertificationPublic(BaseModel):
    id: str
    deployment_row_id: str
    deployment_id: str = Field(description="The provider's model id")
    base_model_id: str
    base_model_name: str
    vendor: str
    provider_slug: str
    region: str
    status: CertificationStatus
    rating: float | None
    badge: str | None
    success_rate: float
    avg_latency_ms: int | None
    tests_passed: int
    tests_failed: int
    error_category: str | None
    last_error: str | None
    certified_at: datetime | None
    expires_at: datetime | None
    last_tested_at: datetime | None
    job_id: str | None
    expired: bool
    partial_rating: float | None = Field(
        default=None, description="The formula's rating before the status capped it"
    )
    latency_p50_ms: float | None = Field(
        default=None, description="Per provider call, request sent → last byte"
    )
    latency_p95_ms: float | None = None
    ttft_p50_ms: float | None = Field(default=None, description="Time to first token, p50")
    transient_errors: int = Field(default=0, description="Retried transient errors absorbed")
    throttled_calls: int = Field(default=0, description="Throttles absorbed")
    inconclusive_tests: int = 0
    tool_schema_accuracy: float | None = Field(
        default=None, description="Tool calls with schema-valid arguments ÷ tool calls"
    )
    tool_trigger_f1: float | None = Field(
        default=None, description="F1 of calling a tool when one fits and not otherwise"
    )
    observed_capabilities: dict[str, bool | None] | None = Field(
        default=None, description="What this run saw in this region (null: inconclusive)"
    )


class CertificationDetail(CertificationPublic):
    """One certification with every test, its samples and the measured figures."""

    test_results: list[dict[str, Any]] = Field(default_factory=list)
    failure_reasons: list[str] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict)
    scores: dict[str, Any] = Field(default_factory=dict)


class CertificationsPublic(Page[CertificationPublic]):
    pass


class UncertifiedPublic(BaseModel):
    deployment_row_id: str
    deployment_id: str
    base_model_name: str
    vendor: str
    provider_slug: str
    region: str
