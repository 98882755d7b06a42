"""botocore exceptions -> the MyIA taxonomy.

Bedrock names errors in PascalCase in HTTP answers (`ThrottlingException`) and in camelCase
inside a ConverseStream (`throttlingException`); both are compared case-insensitively.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from myia.providers.errors import ErrorCategory, ProviderError, retry_after_seconds

C = ErrorCategory

# ValidationException messages that mean "this model is not here" (lower-cased substrings).
_NOT_HERE = (
    "model identifier is invalid",
    "not available in this region",
    "is not supported in this region",
)
_ON_DEMAND_UNSUPPORTED = (
    "on-demand throughput isn't supported",
    "on-demand throughput isn’t supported",
)
_END_OF_LIFE = "reached the end of its life"
# How Bedrock's models word a prompt over the context window (a ValidationException).
_TOO_LONG = (
    "input is too long",
    "prompt is too long",
    "too many input tokens",
    "context window",
    "context length",
    "maximum context",
)
CONTEXT_LENGTH_EXCEEDED = "context_length_exceeded"

# (category, retryable) by lower-cased error code, for codes that need no message inspection.
_BY_CODE: dict[str, tuple[ErrorCategory, bool]] = {
    "accessdeniedexception": (C.ACCESS_DENIED, False),
    "unrecognizedclientexception": (C.AUTH, False),
    "invalidsignatureexception": (C.AUTH, False),
    "expiredtokenexception": (C.AUTH, False),
    "incompletesignature": (C.AUTH, False),
    "missingauthenticationtokenexception": (C.AUTH, False),
    "throttlingexception": (C.THROTTLED, True),
    "toomanyrequestsexception": (C.THROTTLED, True),
    "toomanyrequests": (C.THROTTLED, True),
    "modelnotreadyexception": (C.THROTTLED, True),
    "servicequotaexceededexception": (C.QUOTA, False),
    "modeltimeoutexception": (C.TIMEOUT, True),
    "requesttimeout": (C.TIMEOUT, True),
    # 5xx are the service's fault and worth another attempt. So are a 424 ModelError and
    # an in-stream modelStreamError: AWS documents both as "retry your request", and a model
    # that keeps failing is bounded by the caller's retry budget, not by this table.
    "internalserverexception": (C.MODEL_ERROR, True),
    "serviceunavailableexception": (C.MODEL_ERROR, True),
    "modelerrorexception": (C.MODEL_ERROR, True),
    "modelstreamerrorexception": (C.MODEL_ERROR, True),
}


def _classify_client_error(code: str, message: str) -> tuple[ErrorCategory, bool, str | None]:
    lowered_code = code.lower()
    text = message.lower()
    if _END_OF_LIFE in text:
        return C.MODEL_ERROR, False, "end_of_life"
    if any(phrase in text for phrase in _ON_DEMAND_UNSUPPORTED):
        return C.VALIDATION, False, "inference_profile_required"
    if lowered_code == "resourcenotfoundexception":
        return C.NOT_AVAILABLE_IN_REGION, False, "model_not_found"
    if lowered_code == "validationexception":
        if any(phrase in text for phrase in _NOT_HERE):
            return C.NOT_AVAILABLE_IN_REGION, False, "model_not_found"
        if any(phrase in text for phrase in _TOO_LONG):
            return C.VALIDATION, False, CONTEXT_LENGTH_EXCEEDED
        return C.VALIDATION, False, None
    category, retryable = _BY_CODE.get(lowered_code, (C.UNKNOWN, False))
    return category, retryable, None


def _from_client_error(exc: ClientError, provider: str | None) -> ProviderError:
    response: dict[str, Any] = dict(exc.response)
    error = response.get("Error") or {}
    metadata = response.get("ResponseMetadata") or {}
    code = str(error.get("Code") or "Unknown")
    message = str(error.get("Message") or exc)
    status = metadata.get("HTTPStatusCode")
    category, retryable, reason = _classify_client_error(code, message)
    if reason == "inference_profile_required":
        message += " (call it through an inference profile: deployment type INFERENCE_PROFILE)"
    elif reason == "end_of_life":
        message += " (end of life)"
    retry_after = None
    if category is C.THROTTLED:
        retry_after = retry_after_seconds(metadata.get("HTTPHeaders"))
    return ProviderError(
        category,
        message,
        provider=provider,
        status_code=int(status) if isinstance(status, int) and status else None,
        retryable=retryable,
        retry_after_s=retry_after,
        code=code,
        reason=reason,
        param="messages" if reason == CONTEXT_LENGTH_EXCEEDED else None,
    )


def _from_botocore_error(exc: BotoCoreError, provider: str | None) -> ProviderError:
    name = type(exc).__name__
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return ProviderError(C.AUTH, str(exc), provider=provider, code=name)
    if isinstance(exc, ReadTimeoutError):
        return ProviderError(C.TIMEOUT, str(exc), provider=provider, code=name)
    network = (
        EndpointConnectionError,
        ConnectTimeoutError,
        ConnectionClosedError,
        ResponseStreamingError,
        BotoConnectionError,
    )
    if isinstance(exc, network):
        return ProviderError(C.NETWORK, str(exc), provider=provider, code=name)
    if isinstance(exc, ParamValidationError | NoRegionError):
        return ProviderError(C.VALIDATION, str(exc), provider=provider, code=name)
    return ProviderError(C.UNKNOWN, str(exc), provider=provider, code=name)


def map_botocore_error(exc: BaseException, provider: str | None = "bedrock") -> ProviderError:
    """Translate anything boto3 raised (ClientError, EventStreamError, BotoCoreError, …)."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, ClientError):
        return _from_client_error(exc, provider)
    if isinstance(exc, BotoCoreError):
        return _from_botocore_error(exc, provider)
    if isinstance(exc, TimeoutError):
        return ProviderError(C.TIMEOUT, str(exc) or "timed out", provider=provider)
    if isinstance(exc, OSError):
        return ProviderError(C.NETWORK, str(exc), provider=provider, code=type(exc).__name__)
    return ProviderError(C.UNKNOWN, f"{type(exc).__name__}: {exc}", provider=provider)
