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
    percentile_calls: int = Field(
        default=0,
        description="Calls the percentiles were computed from: every call of the window, "
        "or its newest METRICS_PERCENTILE_ROWS when it has more",
    )
    percentiles_sampled: bool = Field(
        default=False,
        description="True when the percentiles cover only the window's newest calls "
        "(percentile_calls of total.calls); counts, errors, tokens and cost always cover all",
    )
