"""openai SDK exceptions -> the MyIA taxonomy.

An unknown model is NOT_AVAILABLE_IN_REGION: for an OpenAI-compatible provider the provider
is the "region", and certification and routing treat "not offered here" the same way for
Bedrock and for OpenAI (a result, not a failure of the model).
"""

from __future__ import annotations

from typing import Any

import openai

from myia.providers.errors import ErrorCategory, ProviderError, retry_after_seconds

C = ErrorCategory

_MODEL_MISSING_CODES = {"model_not_found", "model_not_available", "model_decommissioned"}


def _about_missing_model(exc: openai.APIStatusError) -> bool:
    if exc.code in _MODEL_MISSING_CODES:
        return True
    text = exc.message.lower()
    return "model" in text and any(
        phrase in text
        for phrase in ("does not exist", "not found", "not exist", "decommissioned", "unknown")
    )


def _status_category(exc: openai.APIStatusError) -> tuple[ErrorCategory, bool, str | None]:
    """(category, retryable, reason) for an HTTP error answer."""
    if isinstance(exc, openai.AuthenticationError):
        return C.AUTH, False, None
    if isinstance(exc, openai.PermissionDeniedError):
        return C.ACCESS_DENIED, False, None
    if isinstance(exc, openai.RateLimitError):
        if exc.code == "insufficient_quota" or exc.type == "insufficient_quota":
            return C.QUOTA, False, "insufficient_quota"
        return C.THROTTLED, True, None
    if _about_missing_model(exc) and exc.status_code in (400, 404):
        return C.NOT_AVAILABLE_IN_REGION, False, "model_not_found"
    if isinstance(exc, openai.NotFoundError):
        # A 404 that is not about the model: a wrong base URL or path, a setup mistake.
        return C.VALIDATION, False, "not_found"
    if isinstance(exc, openai.BadRequestError | openai.UnprocessableEntityError):
        return C.VALIDATION, False, None
    if exc.status_code == 408:
        return C.TIMEOUT, True, None
    if exc.status_code >= 500:
        return C.MODEL_ERROR, True, None
    # 409 and other odd answers: the SDK itself treats 409 as worth retrying.
    return C.UNKNOWN, exc.status_code == 409, None


def map_openai_error(exc: BaseException, provider: str | None = "openai") -> ProviderError:
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError(C.TIMEOUT, exc.message, provider=provider, code="timeout")
    if isinstance(exc, openai.APIConnectionError):
        return ProviderError(C.NETWORK, _connection_message(exc), provider=provider)
    if isinstance(exc, openai.APIStatusError):
        category, retryable, reason = _status_category(exc)
        headers: Any = exc.response.headers
        return ProviderError(
            category,
            exc.message,
            provider=provider,
            status_code=exc.status_code,
            retryable=retryable,
            retry_after_s=retry_after_seconds(headers) if category is C.THROTTLED else None,
            code=exc.code,
            reason=reason,
            param=exc.param,
        )
    if isinstance(exc, openai.APIResponseValidationError):
        return ProviderError(C.MODEL_ERROR, exc.message, provider=provider, code="bad_response")
    if isinstance(exc, TimeoutError):
        return ProviderError(C.TIMEOUT, str(exc) or "timed out", provider=provider)
    if isinstance(exc, openai.OpenAIError):
        # e.g. a missing api_key: the SDK refuses before any request is sent.
        return ProviderError(
            C.AUTH if "api_key" in str(exc) else C.UNKNOWN, str(exc), provider=provider
        )
    return ProviderError(C.UNKNOWN, f"{type(exc).__name__}: {exc}", provider=provider)


def _connection_message(exc: openai.APIConnectionError) -> str:
    cause = exc.__cause__
    return f"{exc.message} ({type(cause).__name__}: {cause})" if cause else exc.message
