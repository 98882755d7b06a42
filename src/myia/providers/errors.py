"""One error taxonomy for every provider.

Adapters translate their SDK's exceptions into `ProviderError` so that the rate limiter, the
certification runner and the gateway decide on a category — retry, fall back, record a result
— without knowing which SDK failed. The per-SDK mapping lives next to each adapter
(`bedrock/errors.py`, `openai_compat/errors.py`).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

from myia.observability.redaction import redact_text


class Severity(enum.StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


@dataclass(frozen=True)
class _Traits:
    severity: Severity
    retryable: bool
    summary: str


class ErrorCategory(enum.StrEnum):
    AUTH = "AUTH"
    ACCESS_DENIED = "ACCESS_DENIED"
    NOT_AVAILABLE_IN_REGION = "NOT_AVAILABLE_IN_REGION"
    THROTTLED = "THROTTLED"
    QUOTA = "QUOTA"
    VALIDATION = "VALIDATION"
    TIMEOUT = "TIMEOUT"
    MODEL_ERROR = "MODEL_ERROR"
    NETWORK = "NETWORK"
    UNKNOWN = "UNKNOWN"

    @property
    def severity(self) -> Severity:
        return _TRAITS[self].severity

    @property
    def retryable(self) -> bool:
        """The category's default; a single error may override it (a 5xx MODEL_ERROR)."""
        return _TRAITS[self].retryable

    @property
    def summary(self) -> str:
        return _TRAITS[self].summary


# AUTH is CRITICAL because it breaks every call made with the credential, not one model;
# THROTTLED is LOW because it is the normal signal a rate limiter adapts to.
_TRAITS: dict[ErrorCategory, _Traits] = {
    ErrorCategory.AUTH: _Traits(Severity.CRITICAL, False, "credentials missing or rejected"),
    ErrorCategory.ACCESS_DENIED: _Traits(
        Severity.HIGH, False, "credentials valid but not allowed to use this model or action"
    ),
    ErrorCategory.NOT_AVAILABLE_IN_REGION: _Traits(
        Severity.MEDIUM, False, "the model is not offered here (region or provider)"
    ),
    ErrorCategory.THROTTLED: _Traits(Severity.LOW, True, "rate limited; retry after a pause"),
    ErrorCategory.QUOTA: _Traits(Severity.HIGH, False, "quota or billing limit reached"),
    ErrorCategory.VALIDATION: _Traits(Severity.MEDIUM, False, "the request was refused as invalid"),
    ErrorCategory.TIMEOUT: _Traits(Severity.MEDIUM, True, "no answer in time"),
    ErrorCategory.MODEL_ERROR: _Traits(Severity.HIGH, False, "the model or service failed"),
    ErrorCategory.NETWORK: _Traits(Severity.MEDIUM, True, "the provider could not be reached"),
    ErrorCategory.UNKNOWN: _Traits(Severity.HIGH, False, "unclassified failure"),
}


class ProviderError(Exception):
    """A provider call failed; `category` says what to do about it.

    `reason` is a stable machine-readable refinement (`end_of_life`,
    `inference_profile_required`, `insufficient_quota`, `model_not_found`,
    `context_length_exceeded`, …); `code` is the provider's own error code, kept for logs.
    """

    def __init__(
        self,
        category: ErrorCategory,
        message: str,
        *,
        provider: str | None = None,
        status_code: int | None = None,
        retry_after_s: float | None = None,
        retryable: bool | None = None,
        severity: Severity | None = None,
        code: str | None = None,
        reason: str | None = None,
        param: str | None = None,
    ) -> None:
        # The SDKs echo parts of requests (signatures, key prefixes) in their messages.
        self.message = redact_text(message)
        self.category = category
        self.provider = provider
        self.status_code = status_code
        self.retry_after_s = retry_after_s
        self.retryable = category.retryable if retryable is None else retryable
        self.severity = category.severity if severity is None else severity
        self.code = code
        self.reason = reason
        # The request field the provider (or the adapter, before sending) objected to.
        self.param = param
        super().__init__(self.message)

    def __str__(self) -> str:
        where = f" {self.provider}" if self.provider else ""
        return f"[{self.category.value}{where}] {self.message}"

    def __repr__(self) -> str:
        return (
            f"ProviderError(category={self.category.value}, provider={self.provider!r}, "
            f"status_code={self.status_code}, code={self.code!r}, reason={self.reason!r}, "
            f"retryable={self.retryable}, retry_after_s={self.retry_after_s}, "
            f"message={self.message!r})"
        )


def retry_after_seconds(
    headers: Mapping[str, str] | None, *, now: float | None = None
) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `retry-after` as seconds or an HTTP-date."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        try:
            return max(float(millis) / 1000.0, 0.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC with no zone claimed (RFC 5322)
        when = when.replace(tzinfo=UTC)
    reference = time.time() if now is None else now
    return max(when.timestamp() - reference, 0.0)
