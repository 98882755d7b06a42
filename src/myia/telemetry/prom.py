"""Prometheus series of MyIA (served at `/metrics` by the API).

Labels stay low-cardinality on purpose: operation, provider and outcome, never a user or a
request id. Every provider call is observed once, by `CallLogWriter.record`, so the series
and `api_call_logs` count the same calls.
"""

from __future__ import annotations

from typing import Any, Protocol

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram


class ObservedCall(Protocol):
    """What a call record tells the series (`myia.telemetry.calls.CallRecord` has it)."""

    @property
    def operation(self) -> str: ...
    @property
    def provider(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def latency_ms(self) -> float | None: ...
    @property
    def ttft_ms(self) -> float | None: ...
    @property
    def tokens_in(self) -> int | None: ...
    @property
    def tokens_out(self) -> int | None: ...
    @property
    def cost(self) -> float | None: ...
    @property
    def error_category(self) -> str | None: ...
    @property
    def fallback(self) -> bool: ...


_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

REQUESTS = Counter(
    "myia_provider_requests",
    "Provider calls by operation, provider and status (success | error).",
    ["operation", "provider", "status"],
)
LATENCY = Histogram(
    "myia_provider_latency_seconds",
    "Whole provider call duration, to the end of the stream.",
    ["operation", "provider"],
    buckets=_LATENCY_BUCKETS,
)
TTFT = Histogram(
    "myia_provider_time_to_first_token_seconds",
    "Time to the first streamed token.",
    ["operation", "provider"],
    buckets=_LATENCY_BUCKETS,
)
TOKENS = Counter(
    "myia_provider_tokens",
    "Tokens as the provider reported them, by direction (in | out).",
    ["operation", "provider", "direction"],
)
COST = Counter(
    "myia_provider_cost_usd",
    "Cost of priced calls in USD (calls to unpriced deployments add nothing; see unpriced).",
    ["operation", "provider"],
)
UNPRICED = Counter(
    "myia_provider_unpriced_calls",
    "Successful calls whose cost is unknown (no price for the deployment).",
    ["operation", "provider"],
)
ERRORS = Counter(
    "myia_provider_errors",
    "Failed provider calls by error category.",
    ["operation", "provider", "category"],
)
FALLBACKS = Counter(
    "myia_gateway_fallbacks",
    "Gateway attempts that failed and were retried on the next candidate deployment.",
    ["provider"],
)
CACHED_READS = Counter(
    "myia_catalog_cached_reads",
    "Catalog list reads answered from cached bytes (api/response_cache.py), by path; their "
    "access lines are at DEBUG.",
    ["path"],
)
CALL_LOG_QUEUE = Gauge(
    "myia_call_log_queue_depth", "Provider call records waiting to be written to the database."
)
CERTIFICATIONS = Gauge(
    "myia_certifications",
    "Certification rows (deployment × region) by status, read at scrape time.",
    ["status"],
)
CERTIFICATION_QUEUE = Gauge(
    "myia_certification_queue_items",
    "Certification work items by status (QUEUED is the queue's depth), read at scrape time.",
    ["status"],
)


# The labelled children, looked up once: `labels()` validates and locks on every call, which
# was a few microseconds per call record on the gateway's path. Series are never removed.
_CHILDREN: dict[tuple[int, tuple[str, ...]], Any] = {}


def _child(metric: Any, *values: str) -> Any:
    key = (id(metric), values)
    child = _CHILDREN.get(key)
    if child is None:
        if len(_CHILDREN) > 10_000:  # label values come from the catalog: stay bounded
            _CHILDREN.clear()
        child = _CHILDREN[key] = metric.labels(*values)
    return child


def observe_call(record: ObservedCall) -> None:
    op, provider = record.operation, record.provider
    _child(REQUESTS, op, provider, record.status).inc()
    if record.latency_ms is not None:
        _child(LATENCY, op, provider).observe(record.latency_ms / 1000.0)
    if record.ttft_ms is not None:
        _child(TTFT, op, provider).observe(record.ttft_ms / 1000.0)
    if record.tokens_in:
        _child(TOKENS, op, provider, "in").inc(record.tokens_in)
    if record.tokens_out:
        _child(TOKENS, op, provider, "out").inc(record.tokens_out)
    if record.cost is not None:
        _child(COST, op, provider).inc(record.cost)
    elif record.status == "success":
        _child(UNPRICED, op, provider).inc()
    if record.status == "error":
        _child(ERRORS, op, provider, record.error_category or "UNKNOWN").inc()
    if record.fallback:
        _child(FALLBACKS, provider).inc()


def observe_fallback(provider: str) -> None:
    """For a caller that retries elsewhere without logging the attempt through a record."""
    FALLBACKS.labels(provider).inc()


def _replace(gauge: Gauge, known: set[str], counts: dict[str, int]) -> None:
    # A status with no row any more must read 0, not keep its last count.
    for status in known - set(counts):
        gauge.labels(status).set(0)
    for status, count in counts.items():
        known.add(status)
        gauge.labels(status).set(count)


def set_certifications(counts: dict[str, int]) -> None:
    """Replace the certification gauge with fresh counts by status."""
    _replace(CERTIFICATIONS, _known_certification_statuses, counts)


def set_certification_queue(counts: dict[str, int]) -> None:
    """Replace the work-item gauge with fresh counts by status."""
    _replace(CERTIFICATION_QUEUE, _known_item_statuses, counts)


_known_certification_statuses: set[str] = set()
_known_item_statuses: set[str] = set()


def registry() -> CollectorRegistry:
    return REGISTRY
