"""Hostile-input checks shared by every request schema (API bodies, query models, CLI input).

Each check exists because the database or the serializer failed on what it refuses:
PostgreSQL rejects NUL in text (`invalid byte sequence 0x00`), a lone surrogate is stored but
cannot be encoded back to UTF-8 (every list containing the row then fails), JSON nested a few
hundred levels deep is stored but cannot be serialised again, and an aware datetime at the edge
of the calendar overflows when converted to UTC. Refusing them here, with a message naming the
problem, keeps every one of those a 422 instead of a 500 for every later reader.

Use `StrictInput` as the base of every input model (it forbids unknown fields too), `SafeText`
for a single string (query or path parameters), `check_text` / `check_json` elsewhere.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

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


class StrictInput(BaseModel):
    """Base of input models: unknown fields are refused, and so is every string (at any depth)
    holding NUL or a lone surrogate, every JSON value nested too deep, and every datetime that
    overflows in UTC."""

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
    def _dates_in_range(self) -> StrictInput:
        for name, value in self.__dict__.items():
            if isinstance(value, datetime):
                try:
                    object.__setattr__(self, name, check_datetime(value))
                except ValueError as exc:
                    raise ValueError(f"{name} {exc}") from None
        return self
