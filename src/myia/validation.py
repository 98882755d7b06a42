"""Hostile-input checks shared by every request schema (API bodies, query models, CLI input).

Each check exists because the database or the serializer failed on what it refuses:
PostgreSQL rejects NUL in text (`invalid byte sequence 0x00`), a lone surrogate is stored but
cannot be encoded back to UTF-8 (every list containing the row then fails), JSON nested a few
hundred levels deep is stored but cannot be serialised again, and an aware datetime at the edge
of the calendar overflows when converted to UTC. Refusing them here, with a message naming the
problem, keeps every one of those a 422 instead of a 500 for every later reader.

Use `StrictInput` as the base of every JSON request body (it forbids unknown fields too, and
accepts each field only as the JSON type the OpenAPI document gives it), `QueryInput` for a
model of query parameters (the same checks, but those values are strings on the wire),
`SafeText` for a single string (query or path parameters), `check_text` / `check_json`
elsewhere.

Strict types: FastAPI validates a decoded JSON body in pydantic's Python mode, where lax
validation turns `0` into 1970-01-01, `"12"` or `12.0` into 12 and `"1.5"` into 1.5. Bodies are
therefore validated with `strict=True`, and the two kinds of field JSON can only carry as a
string get a type saying so: `IsoDatetime` (an ISO 8601 string, never a number or a numeric
string) and `ByValue` on an enum (its exact value). Validating the raw body in pydantic's JSON
mode instead was rejected: it would mean a custom body reader on every route, it still reads
`"0"` as a Unix timestamp, and the CLI and web forms build the same models from Python values.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Strict, model_validator
from pydantic_core import PydanticCustomError

MAX_JSON_DEPTH = 32
"""Nesting allowed inside a JSON field (`default_params`, `provider_config`, …)."""

MAX_JSON_ITEMS = 10_000
"""Values (keys, items, leaves) allowed inside one JSON field."""

# NUL anywhere, or a surrogate code point (only a lone one can reach a Python str).
_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None."""
    found = _BAD_CHAR.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "must not contain NUL (\\u0000) characters"
    return "must not contain lone surrogate characters (invalid Unicode)"


def check_text(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


SafeText = Annotated[str, AfterValidator(check_text)]
"""A str without NUL or lone surrogates: use for query and path parameters."""


def json_problem(
    value: Any, *, max_depth: int = MAX_JSON_DEPTH, max_items: int = MAX_JSON_ITEMS
) -> str | None:
    """Why a decoded JSON value cannot be stored, or None. Iterative: depth is the attack."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    seen = 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if seen > max_items:
            return f"has more than {max_items} values"
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                return problem
        elif isinstance(item, dict | list | tuple):
            if depth >= max_depth:
                return f"is nested deeper than {max_depth} levels"
            if isinstance(item, dict):
                stack.extend((k, depth + 1) for k in item)
                stack.extend((v, depth + 1) for v in item.values())
            else:
                stack.extend((v, depth + 1) for v in item)
    return None


def check_json(value: Any) -> Any:
    problem = json_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def check_datetime(value: datetime) -> datetime:
    """An aware datetime that converts to UTC (as the database stores it), as UTC."""
    try:
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("is out of range once converted to UTC (years 1 to 9999)") from None


SafeDatetime = Annotated[datetime, AfterValidator(check_datetime)]

# An ISO 8601 date or date-time starts with its date: a bare number ("0", "1700000000"), which
# pydantic would read as seconds since 1970 even in strict JSON mode, does not.
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_string(value: Any) -> Any:
    if isinstance(value, datetime):  # built in Python (CLI, services, tests)
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        return value
    raise PydanticCustomError(
        "datetime_type", "Input should be an ISO 8601 date-time string, like 2024-10-22T00:00:00Z"
    )


IsoDatetime = Annotated[datetime, Strict(False), BeforeValidator(_iso_string)]
"""A date-time field of a strict input: an ISO 8601 string (or a datetime from Python), never
a number. Its JSON Schema is unchanged (`string`, `date-time`)."""


def _iso_date(value: Any) -> Any:
    if isinstance(value, date):  # built in Python (CLI, services, tests)
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    raise PydanticCustomError("date_type", "Input should be an ISO 8601 date, like 2026-12-01")


IsoDate = Annotated[date, Strict(False), BeforeValidator(_iso_date)]
"""A calendar-date field of a strict input: `YYYY-MM-DD` (or a date from Python)."""

ByValue = Strict(False)
"""`Annotated[SomeEnum, ByValue]`: an enum field of a strict input, given by its exact value
(strict mode alone would accept only enum members, which JSON cannot carry)."""


def _first_problem(value: Any, path: str) -> tuple[str, str] | None:
    """(field path, problem) for the first value of a request body that cannot be stored."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and text_problem(key):
                return path or "body", f"key {text_problem(key)}"
            if isinstance(item, dict | list):
                problem = json_problem(item)
                if problem is not None:
                    return where, problem
            elif isinstance(item, str):
                problem = text_problem(item)
                if problem is not None:
                    return where, problem
    return None


class QueryInput(BaseModel):
    """Base of query-parameter models: unknown fields are refused, and so is every string (at
    any depth) holding NUL or a lone surrogate, every JSON value nested too deep, and every
    datetime that overflows in UTC. Types are lax: query values are strings on the wire."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        found = _first_problem(data, "")
        if found is not None:
            field, problem = found
            raise ValueError(f"{field} {problem}")
        return data

    @model_validator(mode="after")
    def _dates_in_range(self) -> QueryInput:
        for name, value in self.__dict__.items():
            if isinstance(value, datetime):
                try:
                    object.__setattr__(self, name, check_datetime(value))
                except ValueError as exc:
                    raise ValueError(f"{name} {exc}") from None
        return self


class StrictInput(QueryInput):
    """Base of JSON request bodies: `QueryInput`'s checks, and every field accepted only as the
    JSON type its schema gives (no "12" or 12.0 for an integer, no "1.5" for a number, no 1 for
    a string, no "true" for a boolean). Date-times are `IsoDatetime`, enums `ByValue`; nested
    input models set `strict=True` too (strictness is per model)."""

    model_config = ConfigDict(extra="forbid", strict=True)
