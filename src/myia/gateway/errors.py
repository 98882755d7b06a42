"""Errors in OpenAI's shape: {"error": {"message", "type", "param", "code"}}.

Clients written for OpenAI branch on the HTTP status and on `code`; the message says what to
change. The gateway never answers a 500 of its own: an unexpected failure is an `api_error`.
An upstream failure's message is ours (`myia.routing.public_errors`): the category, the
routes tried and the request id, never the provider's own text, which goes to the log.
"""

from __future__ import annotations

import json
import re

from myia.providers.errors import ErrorCategory, ProviderError
from myia.routing import MaxTokensTooLarge, NoRouteAnswered
from myia.routing.public_errors import no_route_message, provider_error_message
from myia.routing.types import Route


class GatewayError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict[str, dict[str, str | None]]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def json_bytes(self) -> bytes:
        return json.dumps(self.body()).encode()


def invalid(message: str, *, param: str | None = None, code: str | None = None) -> GatewayError:
    return GatewayError(400, message, param=param, code=code)


def from_max_tokens(exc: MaxTokensTooLarge) -> GatewayError:
    """OpenAI's own answer to a `max_tokens` over the model's output limit."""
    return GatewayError(400, str(exc), param=exc.param, code="invalid_value")


def unauthorized(message: str) -> GatewayError:
    return GatewayError(401, message, code="invalid_api_key")


_STATUS = {
    ErrorCategory.THROTTLED: (429, "rate_limit_error", "rate_limit_exceeded"),
    ErrorCategory.QUOTA: (429, "insufficient_quota", "insufficient_quota"),
    ErrorCategory.TIMEOUT: (504, "api_error", "upstream_timeout"),
    ErrorCategory.VALIDATION: (400, "invalid_request_error", "upstream_rejected_request"),
}


# An upstream's `code` and `param` are identifiers a client branches on (no free text, so
# nothing of the provider's words): kept when they look like one.
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_PARAM = re.compile(r"[A-Za-z_][A-Za-z0-9_.\[\]-]{0,127}")


def _refinement(exc: ProviderError) -> tuple[str | None, str | None]:
    """(code, param) a refused request keeps from its upstream: context overflow is
    `context_length_exceeded` whichever provider said it."""
    if exc.category is not ErrorCategory.VALIDATION:
        return None, None
    code = exc.reason if exc.reason == "context_length_exceeded" else exc.code
    param = exc.param if exc.param and _PARAM.fullmatch(exc.param) else None
    return (code if code and _CODE.fullmatch(code) else None), param


def from_provider(
    exc: ProviderError, *, request_id: str | None, route: Route | None = None
) -> GatewayError:
    status, kind, code = _STATUS.get(exc.category, (502, "api_error", "upstream_error"))
    message = provider_error_message(exc, request_id=request_id, route=route)
    upstream_code, param = _refinement(exc)
    return GatewayError(status, message, type=kind, code=upstream_code or code, param=param)


def from_no_route(exc: NoRouteAnswered, *, request_id: str | None) -> GatewayError:
    """Every candidate failed: the last failure sets the status, the message names the routes
    tried and their categories."""
    last = exc.last_error
    status, kind, code = (
        _STATUS.get(last.category, (502, "api_error", "upstream_error"))
        if last is not None
        else (502, "api_error", "upstream_error")
    )
    message = no_route_message(exc, request_id=request_id)
    headers = {}
    if last is not None and last.retry_after_s is not None:
        headers["retry-after"] = str(max(1, round(last.retry_after_s)))
    upstream_code, param = _refinement(last) if last is not None else (None, None)
    return GatewayError(
        status, message, type=kind, code=upstream_code or code, param=param, headers=headers
    )
