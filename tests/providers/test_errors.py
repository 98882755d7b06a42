from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from myia.providers.errors import ErrorCategory, ProviderError, Severity, retry_after_seconds


def test_every_category_has_traits() -> None:
    for category in ErrorCategory:
        assert isinstance(category.severity, Severity)
        assert isinstance(category.retryable, bool)
        assert category.summary
    retryable = {c for c in ErrorCategory if c.retryable}
    assert retryable == {ErrorCategory.THROTTLED, ErrorCategory.TIMEOUT, ErrorCategory.NETWORK}
    assert ErrorCategory.AUTH.severity is Severity.CRITICAL


def test_provider_error_defaults_and_overrides() -> None:
    error = ProviderError(ErrorCategory.THROTTLED, "slow down", provider="bedrock")
    assert error.retryable and error.severity is Severity.LOW
    assert str(error) == "[THROTTLED bedrock] slow down"
    overridden = ProviderError(ErrorCategory.MODEL_ERROR, "503", retryable=True)
    assert overridden.retryable


def test_provider_error_message_never_carries_credentials() -> None:
    error = ProviderError(
        ErrorCategory.AUTH,
        "Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1 key sk-proj-abcdefghijkl "
        "header Bearer abc.def.ghi",
    )
    for secret in ("AKIAIOSFODNN7EXAMPLE", "sk-proj-abcdefghijkl", "abc.def.ghi"):
        assert secret not in str(error)
        assert secret not in repr(error)
        assert secret not in error.message


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after-ms": "junk", "retry-after": "2"}, 2.0),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_retry_after_seconds(headers: dict[str, str] | None, expected: float | None) -> None:
    assert retry_after_seconds(headers) == expected


def test_retry_after_http_date() -> None:
    now = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(datetime(2026, 11, 1, 12, 0, 30, tzinfo=UTC), usegmt=True)
    assert retry_after_seconds({"retry-after": later}, now=now.timestamp()) == 30.0
    past = format_datetime(datetime(2026, 11, 1, 11, 0, 0, tzinfo=UTC), usegmt=True)
    assert retry_after_seconds({"retry-after": past}, now=now.timestamp()) == 0.0
