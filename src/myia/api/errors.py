"""Map domain and database errors to HTTP: 401, 403, 404, 409, 413, 422, 503 — never a 500
for bad input.

Every error body has one shape, `{"detail": str, "errors": [{"field", "message"}]}` (409 adds
`field`), described once in `myia.api.openapi`. Database errors are mapped by their kind, not
their text: a constraint is the client's conflict, a value the database cannot hold is the
client's invalid input, a database that cannot be reached is a 503.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from myia.auth.throttle import TooManyAttemptsError
from myia.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)


def error_response(
    status: int,
    message: str,
    errors: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """The one error body of the API; new routes returning an error by hand use this."""
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    body = {"detail": message, "errors": errors or [], **extra}
    return JSONResponse(body, status_code=status, headers=headers)


_error = error_response


def _field_of(loc: Any) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _field_of(err.get("loc", ())), "message": _cleaned(str(err.get("msg", "")))}
        for err in exc.errors()
    ]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return _error(422, f"invalid input — {summary}", errors=errors)


_UNPARSEABLE = "There was an error parsing the body"


def _cleaned(message: str) -> str:
    # pydantic prefixes messages of our own validators with "Value error, ".
    return message.removeprefix("Value error, ")


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


async def _data(_request: Request, _exc: Exception) -> JSONResponse:
    # A value the schemas let through but the column cannot hold (out of range, bad bytes):
    # the message names the kind of problem; the database's own text may quote the value.
    message = "a value is out of range or holds characters the database cannot store"
    return _error(422, f"invalid input — {message}", errors=[{"field": "body", "message": message}])


async def _database_down(_request: Request, _exc: Exception) -> JSONResponse:
    return _error(503, "the database is unavailable; try again shortly")


async def _database(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if isinstance(exc, IntegrityError):
        return await _integrity(request, exc)
    if isinstance(exc, DataError):
        return await _data(request, exc)
    if isinstance(exc, OperationalError) and exc.connection_invalidated:
        return await _database_down(request, exc)
    # Drivers disagree on the class (asyncpg's "invalid byte sequence" is a DataError on
    # one path and a plain DBAPIError on another): decide by the SQLSTATE class when known.
    sqlstate = str(getattr(exc.orig, "sqlstate", "") or getattr(exc.orig, "pgcode", "") or "")
    if sqlstate.startswith("22"):
        return await _data(request, exc)
    if sqlstate.startswith("23"):
        return await _integrity(request, exc)
    if isinstance(exc, OperationalError) or sqlstate.startswith(("08", "57")):
        return await _database_down(request, exc)
    raise exc


async def _overflow(_request: Request, _exc: Exception) -> JSONResponse:
    message = "a number or date is out of the range the server can store"
    return _error(422, f"invalid input — {message}", errors=[{"field": "body", "message": message}])


async def _too_deep(_request: Request, _exc: Exception) -> JSONResponse:
    message = "the request is nested too deeply"
    return _error(422, f"invalid input — {message}", errors=[{"field": "body", "message": message}])


async def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _UNPARSEABLE:
        # FastAPI's answer to a body that is not even text; a malformed JSON body is a 422
        # already, and one status for "your body is not valid" is simpler for clients.
        message = (
            "the body is nested too deeply"
            if isinstance(exc.__cause__, RecursionError)
            else "the body is not valid JSON text (UTF-8)"
        )
        return _error(
            422, f"invalid input — {message}", errors=[{"field": "body", "message": message}]
        )
    return _error(exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))


async def _throttled(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TooManyAttemptsError)
    return _error(429, str(exc), headers={"Retry-After": str(exc.retry_after_s)})


async def _unauthenticated(_request: Request, exc: Exception) -> JSONResponse:
    return _error(401, str(exc))


async def _forbidden(_request: Request, exc: Exception) -> JSONResponse:
    return _error(403, str(exc))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(InvalidInputError, _invalid_input)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(ConflictError, _conflict)
    app.add_exception_handler(DBAPIError, _database)
    app.add_exception_handler(OverflowError, _overflow)
    app.add_exception_handler(RecursionError, _too_deep)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(AuthenticationError, _unauthenticated)
    app.add_exception_handler(PermissionDeniedError, _forbidden)
    app.add_exception_handler(TooManyAttemptsError, _throttled)
