"""Turning posted forms into service inputs, and validation errors into per-field messages."""

from __future__ import annotations

import contextlib
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from myia.errors import ConflictError, InvalidInputError, MyIAError


def non_empty(form: FormData, *names: str) -> dict[str, str]:
    """The named fields that were filled in, stripped."""
    values: dict[str, str] = {}
    for name in names:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            values[name] = value.strip()
    return values


def validation_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "form"
        message = str(error["msg"]).removeprefix("Value error, ")
        errors.setdefault(name, message[:1].upper() + message[1:])
    return errors


def service_errors(exc: MyIAError) -> dict[str, str]:
    """A domain error as {field: message}; errors without a field go under `form`."""
    if isinstance(exc, InvalidInputError):
        return {exc.field: exc.message[:1].upper() + exc.message[1:]}
    if isinstance(exc, ConflictError) and exc.field:
        return {exc.field: str(exc)}
    return {"form": str(exc)}


def checkbox(form: FormData, name: str) -> bool:
    return form.get(name) in ("on", "true", "1")


def as_float(values: dict[str, Any], name: str) -> None:
    """Leave non-numbers for pydantic to reject with its own message."""
    if name in values:
        with contextlib.suppress(ValueError):
            values[name] = float(values[name])
