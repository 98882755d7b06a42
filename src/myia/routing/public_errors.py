"""What a user is told when the upstream call fails: a category and words of our own.

A provider's error text (an SDK message, an upstream body, botocore's "Could not connect to
the endpoint URL: …") may name accounts, ARNs, endpoints, internal hosts or quoted request
parts. None of it reaches a gateway client or a chat: they get the category, a fixed sentence
written here, which routes were tried (our catalog's names: provider/deployment@region and
the category) and the request id, which an operator looks up in the log and in
`api_call_logs` where the detail (redacted) is kept. Adapters keep the raw text in
`ProviderError.message` for those logs and for certification (admins only).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from myia.observability.redaction import redact_text
from myia.providers.errors import ErrorCategory, ProviderError
from myia.routing.fallback import Attempt, NoRouteAnswered
from myia.routing.types import Route

# (label, sentence) per category: the label is what a client shows or branches on.
_PUBLIC: dict[ErrorCategory, tuple[str, str]] = {
    ErrorCategory.AUTH: (
        "authentication with provider failed",
        "the provider refused the credentials it was called with",
    ),
    ErrorCategory.ACCESS_DENIED: (
        "access denied by provider",
        "the provider does not allow these credentials to use this model",
    ),
    ErrorCategory.NOT_AVAILABLE_IN_REGION: (
        "not available in region",
        "the provider does not offer this model there",
    ),
    ErrorCategory.THROTTLED: (
        "provider throttled",
        "the provider is rate limiting requests; retry after a pause",
    ),
    ErrorCategory.QUOTA: (
        "provider quota exhausted",
        "the provider's quota or billing limit is reached",
    ),
    ErrorCategory.VALIDATION: (
        "request rejected by provider",
        "the provider refused the request as invalid (check the model's limits and the "
        "request's parameters)",
    ),
    ErrorCategory.TIMEOUT: ("timeout", "the provider did not answer in time"),
    ErrorCategory.MODEL_ERROR: ("upstream_error", "the model failed to produce an answer"),
    ErrorCategory.NETWORK: ("provider unreachable", "the provider could not be reached"),
    ErrorCategory.UNKNOWN: ("upstream_error", "the provider failed"),
}
_NO_ERROR = ("upstream_error", "no route answered")


def public_label(category: ErrorCategory | None) -> str:
    return _PUBLIC.get(category, _NO_ERROR)[0] if category is not None else _NO_ERROR[0]


def route_label(route: Route) -> str:
    return f"{route.provider.slug}/{route.deployment}@{route.region or 'default'}"


def _attempt(attempt: Attempt) -> str:
    return f"{route_label(attempt.route)}: {attempt.error.category.value if attempt.error else '?'}"


def _sentence(category: ErrorCategory | None, context: str | None, request_id: str | None) -> str:
    label, sentence = _PUBLIC.get(category, _NO_ERROR) if category is not None else _NO_ERROR
    text = f"{label}: {sentence}"
    if context:
        text += f" ({context})"
    if request_id:
        text += f"; request id {request_id}"
    return text


def no_route_message(exc: NoRouteAnswered, *, request_id: str | None) -> str:
    """Every candidate failed: the last failure's category, each attempt by name only."""
    tried = len(exc.attempts)
    which = "the only route" if tried == 1 else f"all {tried} routes"
    attempts = "; ".join(_attempt(a) for a in exc.attempts) or "none was tried"
    category = exc.last_error.category if exc.last_error is not None else None
    return _sentence(category, f"{which} for this model failed: {attempts}", request_id)


def provider_error_message(
    exc: ProviderError, *, request_id: str | None, route: Route | None = None
) -> str:
    """One failure (a stream that broke after its first event)."""
    context = f"{route_label(route)}: {exc.category.value}" if route is not None else None
    return _sentence(exc.category, context, request_id)


def failure_detail(error: ProviderError | NoRouteAnswered) -> str:
    """The provider's own words, masked: for the log, never for the user."""
    return redact_text(str(error))


def log_failure(
    log: Any,
    event: str,
    error: ProviderError | NoRouteAnswered,
    *,
    request_id: str | None,
    **fields: Any,
) -> None:
    """Log the detail a user is not shown, under the request id the user was given."""
    last = error.last_error if isinstance(error, NoRouteAnswered) else error
    attempts: Sequence[Attempt] = error.attempts if isinstance(error, NoRouteAnswered) else ()
    if request_id is not None:
        fields["request_id"] = request_id
    log.warning(
        event,
        category=last.category.value if last is not None else None,
        provider=last.provider if last is not None else None,
        provider_code=last.code if last is not None else None,
        attempts=len(attempts) or None,
        detail=failure_detail(error),
        **fields,
    )
