"""The OpenAPI document, made to describe every answer the API actually serves.

FastAPI documents a 422 with its own body shape and nothing else. The API answers errors in
one shape (`myia.api.errors.error_response`) with statuses that follow from what an operation
depends on, so they are added here, once, for every route — new routers included:

- 401 where a bearer token is required, 403 where the admin role is, 429 on login;
- 404 where the path names a row, 409 on every write (uniqueness, refused transitions);
- 413 where a body is read (`MAX_REQUEST_BODY_BYTES`), 422 everywhere (any parameter);
- 503 everywhere: the database may be unreachable.

A route declares any other error status it serves in its `responses` (e.g. 403 on a closed
registration); every declared error keeps its description and example, and gets the shared
error schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi

from myia.api.deps import get_admin_user, get_current_user

ERROR_REF = "#/components/schemas/Error"
_ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "description": "Every error answer of the API.",
    "required": ["detail", "errors"],
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, for a person"},
        "errors": {
            "type": "array",
            "description": "One entry per invalid field (empty when not about input)",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "field": {
            "anyOf": [{"type": "string"}, {"type": "null"}],
            "description": "On a 409: the field whose value conflicts",
        },
    },
}
_DESCRIPTIONS = {
    401: "Not authenticated (missing, invalid or expired bearer token)",
    403: "Authenticated but not allowed (this action needs the admin role)",
    404: "No such row",
    409: "Conflicts with the current state (a uniqueness rule or a refused transition)",
    413: "Request body larger than MAX_REQUEST_BODY_BYTES",
    422: "Invalid input; `errors` names each field",
    429: "Too many failed logins: retry after the lockout (Retry-After header)",
    503: "The database is unavailable",
}
_WRITES = {"post", "put", "patch", "delete"}
# The OpenAI-compatible gateway answers errors in OpenAI's shape, not this API's, and
# declares its own statuses: its operations are left as their router describes them.
OWN_ERROR_PREFIXES = ("/v1/",)


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _statuses(route: Any, method: str, operation: dict[str, Any]) -> set[int]:
    calls = set(_calls(route.dependant))
    statuses = {422, 503}
    if get_current_user in calls or get_admin_user in calls:
        statuses.add(401)
    if get_admin_user in calls:
        statuses.add(403)
    if route.dependant.path_params:
        statuses.add(404)
    if method in _WRITES:
        statuses.add(409)
    if "requestBody" in operation:
        statuses.add(413)
    if route.path == "/api/auth/login":
        statuses.add(429)
    return statuses


def _with_errors_key(example: Any) -> Any:
    if isinstance(example, dict) and "detail" in example:
        return {"errors": [], **example}
    return example


def describe_errors(app: FastAPI, document: dict[str, Any]) -> dict[str, Any]:
    """`document` with the error answers of every operation of `app` declared."""
    document.setdefault("components", {}).setdefault("schemas", {})["Error"] = _ERROR_SCHEMA
    paths = document.get("paths", {})
    # Routes of included routers are reached through their contexts (what FastAPI's own
    # document generator walks), carrying the full path and the merged dependencies.
    for route in routing.iter_route_contexts(app.routes):
        if not isinstance(route.original_route, routing.APIRoute) or not route.include_in_schema:
            continue
        if (route.path_format or "").startswith(OWN_ERROR_PREFIXES):
            continue
        for method in route.methods or ():
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            declared = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
            for status in sorted(_statuses(route, method.lower(), operation) | declared):
                existing = responses.get(str(status), {})
                example = existing.get("content", {}).get("application/json", {}).get("example")
                media: dict[str, Any] = {"schema": {"$ref": ERROR_REF}}
                if example is not None:
                    media["example"] = _with_errors_key(example)
                responses[str(status)] = {
                    "description": existing.get("description")
                    or _DESCRIPTIONS.get(status, "Error"),
                    "content": {"application/json": media},
                }
    schemas = document["components"]["schemas"]
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = describe_errors(app, document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
