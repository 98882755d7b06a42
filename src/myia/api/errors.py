"""Map domain errors to HTTP: 401, 403, 404, 409, 422 — never a 500 for bad input."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from myia.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"detail": message, **extra}, status_code=status, headers=headers)


def _field_of(loc: Any) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _field_of(err.get("loc", ())), "message": err.get("msg", "invalid")}
        for err in exc.errors()
    ]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return _error(422, f"invalid input — {summary}", errors=errors)


async def _invalid_input(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidInputError)
    return _error(422, str(exc), errors=[{"field": exc.field, "message": exc.message}])


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return _error(404, str(exc))


async def _conflict(_request: Request, exc: Exception) -> JSONResponse:
    field = exc.field if isinstance(exc, ConflictError) else None
    return _error(409, str(exc), field=field)


async def _integrity(_request: Request, _exc: Exception) -> JSONResponse:
    # A race past the services' own checks: still the client's conflict, not our crash.
    return _error(409, "the change conflicts with an existing record")


async def _unauthenticated(_request: Request, exc: Exception) -> JSONResponse:
    return _error(401, str(exc))


async def _forbidden(_request: Request, exc: Exception) -> JSONResponse:
    return _error(403, str(exc))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(InvalidInputError, _invalid_input)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(ConflictError, _conflict)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(AuthenticationError, _unauthenticated)
    app.add_exception_handler(PermissionDeniedError, _forbidden)
