"""Error bodies of the catalog endpoints, described for the OpenAPI document.

They mirror what `myia.api.errors` sends, so clients generated from /openapi.json know the
shape of a 401/403/404/409/422 and not only of a success.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorPublic(BaseModel):
    detail: str = Field(examples=["base model '0f7a…' not found"])


class ConflictPublic(ErrorPublic):
    field: str | None = Field(default=None, examples=["name"])


class FieldError(BaseModel):
    field: str = Field(examples=["cost_per_1m_input"])
    message: str = Field(examples=["Input should be greater than or equal to 0"])


class ValidationErrorPublic(ErrorPublic):
    errors: list[FieldError]


def _response(model: type[BaseModel], description: str, example: dict[str, Any]) -> Any:
    return {
        "model": model,
        "description": description,
        "content": {"application/json": {"example": example}},
    }


_401 = _response(
    ErrorPublic,
    "Not authenticated (missing, invalid or expired bearer token)",
    {"detail": "not authenticated: send 'Authorization: Bearer <token>'"},
)
_403 = _response(
    ErrorPublic, "Authenticated but not an admin", {"detail": "this action needs the admin role"}
)
_404 = _response(
    ErrorPublic,
    "No such row",
    {"detail": "base model '0f7a1a9e-8a7e-4c55-9a57-7d0d3a0a5d42' not found"},
)
_409 = _response(
    ConflictPublic,
    "Would break a uniqueness rule; `field` names it",
    {"detail": "a base model named 'Claude 3.5 Sonnet' already exists", "field": "name"},
)
_422 = _response(
    ValidationErrorPublic,
    "Invalid input; `errors` names each field",
    {
        "detail": "invalid input — page_size: Input should be less than or equal to 200",
        "errors": [{"field": "page_size", "message": "Input should be less than or equal to 200"}],
    },
)

READ: dict[int | str, Any] = {401: _401, 422: _422}
READ_ONE: dict[int | str, Any] = {401: _401, 404: _404, 422: _422}
CREATE: dict[int | str, Any] = {401: _401, 403: _403, 409: _409, 422: _422}
UPDATE: dict[int | str, Any] = {401: _401, 403: _403, 404: _404, 409: _409, 422: _422}
DELETE: dict[int | str, Any] = {401: _401, 403: _403, 404: _404}
