"""What the metrics endpoints answer."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

GroupBy = Literal["deployment", "provider", "user", "operation", "region", "model"]


class Percentiles(BaseModel):
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None


class CallMetrics(BaseModel):
    """Figures of the calls of one group (or of all calls in the window)."""

    key: str | None = Field(default=None, description="The group's value (null: all calls)")
    calls: int
    errors: int
    error_rate: float = Field(description="errors / calls (0 when there were no calls)")
    latency_ms: Percentiles
    time_to_first_token_ms: Percentiles
    tokens_in: int
    tokens_out: int
    cost: float = Field(description="USD of the calls whose cost is known")
    unpriced_calls: int = Field(description="Successful calls whose cost is unknown")


class SystemMetricSummary(BaseModel):
    metric_type: str
    deployment_id: str | None
    samples: int
    average: float
    last: float
    last_at: datetime


class MetricsReport(BaseModel):
    since: datetime
    until: datetime
    group_by: GroupBy | None
    total: CallMetrics
    groups: list[CallMetrics]
    system: list[SystemMetricSummary]
