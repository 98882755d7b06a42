from __future__ import annotations

from typing import Any

import httpx2
import openai
import pytest

from myia.providers.errors import ErrorCategory as C
from myia.providers.openai_compat.errors import map_openai_error

REQUEST = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")


def status_error(
    cls: type[openai.APIStatusError],
    status: int,
    message: str,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> openai.APIStatusError:
    body: dict[str, Any] = {"message": message, "type": "error", "param": None, "code": code}
    response = httpx2.Response(status, headers=headers, json={"error": body}, request=REQUEST)
    return cls(message, response=response, body=body)


@pytest.mark.parametrize(
    ("cls", "status", "message", "code", "category", "retryable"),
    [
        (
            openai.AuthenticationError,
            401,
            "Incorrect API key provided",
            "invalid_api_key",
            C.AUTH,
            False,
        ),
        (openai.PermissionDeniedError, 403, "not allowed", None, C.ACCESS_DENIED, False),
        (
            openai.NotFoundError,
            404,
            "The model `gpt-9` does not exist",
            "model_not_found",
            C.NOT_AVAILABLE_IN_REGION,
            False,
        ),
        (openai.NotFoundError, 404, "Not found", None, C.VALIDATION, False),
        (openai.BadRequestError, 400, "max_tokens is too large", None, C.VALIDATION, False),
        (openai.UnprocessableEntityError, 422, "bad", None, C.VALIDATION, False),
        (
            openai.RateLimitError,
            429,
            "Rate limit reached",
            "rate_limit_exceeded",
            C.THROTTLED,
            True,
        ),
        (
            openai.RateLimitError,
            429,
            "You exceeded your current quota",
            "insufficient_quota",
            C.QUOTA,
            False,
        ),
        (openai.InternalServerError, 500, "server error", None, C.MODEL_ERROR, True),
        (openai.InternalServerError, 503, "overloaded", None, C.MODEL_ERROR, True),
    ],
)
def test_status_errors(
    cls: type[openai.APIStatusError],
    status: int,
    message: str,
    code: str | None,
    category: C,
    retryable: bool,
) -> None:
    error = map_openai_error(status_error(cls, status, message, code), "groq")
    assert (error.category, error.retryable) == (category, retryable)
    assert error.status_code == status
    assert error.provider == "groq"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"retry-after": "2"}, 2.0), ({"retry-after-ms": "1500"}, 1.5), ({}, None)],
)
def test_rate_limit_retry_after(headers: dict[str, str], expected: float | None) -> None:
    exc = status_error(openai.RateLimitError, 429, "slow", "rate_limit_exceeded", headers)
    assert map_openai_error(exc).retry_after_s == expected


def test_quota_is_not_given_a_retry_after() -> None:
    exc = status_error(
        openai.RateLimitError, 429, "quota", "insufficient_quota", {"retry-after": "2"}
    )
    error = map_openai_error(exc)
    assert error.reason == "insufficient_quota"
    assert error.retry_after_s is None


def test_connection_and_timeout() -> None:
    assert map_openai_error(openai.APITimeoutError(REQUEST)).category is C.TIMEOUT
    network = map_openai_error(openai.APIConnectionError(request=REQUEST))
    assert (network.category, network.retryable) == (C.NETWORK, True)


def test_auth_message_is_redacted() -> None:
    exc = status_error(
        openai.AuthenticationError, 401, "Incorrect API key provided: sk-proj-abcdefgh1234", None
    )
    assert "sk-proj-abcdefgh1234" not in str(map_openai_error(exc))
