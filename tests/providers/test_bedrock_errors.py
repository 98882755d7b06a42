from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    EventStreamError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)

from myia.providers.bedrock.errors import map_botocore_error
from myia.providers.errors import ErrorCategory as C
from myia.providers.errors import ProviderError


def client_error(
    code: str,
    message: str,
    status: int = 400,
    headers: dict[str, str] | None = None,
    cls: type[ClientError] = ClientError,
) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers or {}},
    }
    return cls(response, "Converse")


@pytest.mark.parametrize(
    ("code", "message", "status", "category", "retryable", "reason"),
    [
        (
            "AccessDeniedException",
            "You don't have access to the model",
            403,
            C.ACCESS_DENIED,
            False,
            None,
        ),
        (
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            403,
            C.AUTH,
            False,
            None,
        ),
        (
            "InvalidSignatureException",
            "The request signature we calculated does not match",
            403,
            C.AUTH,
            False,
            None,
        ),
        (
            "ExpiredTokenException",
            "The security token included in the request is expired",
            403,
            C.AUTH,
            False,
            None,
        ),
        (
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
            429,
            C.THROTTLED,
            True,
            None,
        ),
        ("TooManyRequests", "Too many requests", 429, C.THROTTLED, True, None),
        ("ModelNotReadyException", "Model is not ready", 429, C.THROTTLED, True, None),
        (
            "ServiceQuotaExceededException",
            "Your request exceeds the service quota",
            400,
            C.QUOTA,
            False,
            None,
        ),
        (
            "ValidationException",
            "Malformed input request: temperature must be <= 1",
            400,
            C.VALIDATION,
            False,
            None,
        ),
        (
            "ValidationException",
            "The provided model identifier is invalid.",
            400,
            C.NOT_AVAILABLE_IN_REGION,
            False,
            "model_not_found",
        ),
        (
            "ResourceNotFoundException",
            "Model not found",
            404,
            C.NOT_AVAILABLE_IN_REGION,
            False,
            "model_not_found",
        ),
        (
            "ValidationException",
            "Invocation of model ID x with on-demand throughput isn’t supported. Retry your "
            "request with the ID or ARN of an inference profile that contains this model.",
            400,
            C.VALIDATION,
            False,
            "inference_profile_required",
        ),
        (
            "ValidationException",
            "Invocation with on-demand throughput isn't supported.",
            400,
            C.VALIDATION,
            False,
            "inference_profile_required",
        ),
        (
            "ResourceNotFoundException",
            "This model version has reached the end of its life. Please refer to the AWS "
            "documentation for more details.",
            404,
            C.MODEL_ERROR,
            False,
            "end_of_life",
        ),
        ("ModelTimeoutException", "Model timed out", 408, C.TIMEOUT, True, None),
        ("InternalServerException", "Internal error", 500, C.MODEL_ERROR, True, None),
        ("ServiceUnavailableException", "Service unavailable", 503, C.MODEL_ERROR, True, None),
        (
            "ModelErrorException",
            "The model failed to process the request",
            424,
            C.MODEL_ERROR,
            True,
            None,
        ),
        ("SomethingNewException", "?", 400, C.UNKNOWN, False, None),
    ],
)
def test_client_error_codes(
    code: str, message: str, status: int, category: C, retryable: bool, reason: str | None
) -> None:
    error = map_botocore_error(client_error(code, message, status))
    assert (error.category, error.retryable, error.reason) == (category, retryable, reason)
    assert error.status_code == status
    assert error.code == code
    assert error.provider == "bedrock"


def test_inference_profile_hint_and_end_of_life_detail() -> None:
    hint = map_botocore_error(
        client_error("ValidationException", "on-demand throughput isn't supported.")
    )
    assert "inference profile" in hint.message
    eol = map_botocore_error(
        client_error("ResourceNotFoundException", "has reached the end of its life", 404)
    )
    assert "end of life" in eol.message


def test_throttling_carries_retry_after_from_headers() -> None:
    error = map_botocore_error(
        client_error("ThrottlingException", "slow down", 429, {"retry-after": "3"})
    )
    assert error.retry_after_s == 3.0
    assert map_botocore_error(client_error("ThrottlingException", "x", 429)).retry_after_s is None


@pytest.mark.parametrize(
    ("code", "category"),
    [
        ("throttlingException", C.THROTTLED),
        ("modelStreamErrorException", C.MODEL_ERROR),
        ("validationException", C.VALIDATION),
        ("internalServerException", C.MODEL_ERROR),
        ("serviceUnavailableException", C.MODEL_ERROR),
    ],
)
def test_errors_inside_a_stream_are_camel_case(code: str, category: C) -> None:
    error = map_botocore_error(client_error(code, "in stream", 200, cls=EventStreamError))
    assert error.category is category


def test_a_model_error_is_retried_in_and_out_of_a_stream() -> None:
    # AWS: ModelErrorException (424) and modelStreamErrorException — "retry your request".
    for error in (
        map_botocore_error(client_error("ModelErrorException", "model failed", 424)),
        map_botocore_error(
            client_error("modelStreamErrorException", "in stream", 200, cls=EventStreamError)
        ),
    ):
        assert (error.category, error.retryable) == (C.MODEL_ERROR, True)


@pytest.mark.parametrize(
    ("exc", "category", "retryable"),
    [
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), C.NETWORK, True),
        (ConnectionClosedError(endpoint_url="http://127.0.0.1:1"), C.NETWORK, True),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), C.TIMEOUT, True),
        (NoCredentialsError(), C.AUTH, False),
        (ParamValidationError(report="Missing required parameter"), C.VALIDATION, False),
        (RuntimeError("boom"), C.UNKNOWN, False),
    ],
)
def test_botocore_errors(exc: Exception, category: C, retryable: bool) -> None:
    error = map_botocore_error(exc)
    assert (error.category, error.retryable) == (category, retryable)


def test_provider_errors_pass_through() -> None:
    original = ProviderError(C.QUOTA, "x")
    assert map_botocore_error(original) is original


def test_signature_mismatch_message_is_redacted() -> None:
    error = map_botocore_error(
        client_error(
            "InvalidSignatureException",
            "The String-to-Sign should have been "
            "'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE'",
            403,
        )
    )
    assert "AKIAIOSFODNN7EXAMPLE" not in str(error)
