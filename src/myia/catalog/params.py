"""The call parameters a base model (`default_params`) or a deployment (`custom_params`) may
set, and their check when stored.

Only what every adapter sends is allowed: `ChatRequest` carries these four fields to both wire
protocols (OpenAI's body, Bedrock's `inferenceConfig`), and routing fills them in on each call
(`myia.routing.params`). Anything else would be stored and then ignored, so it is refused by
name when written (API and web forms: 422).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator

MAX_STOP_SEQUENCES = 4  # OpenAI's own limit; Bedrock allows as many
MAX_STOP_CHARS = 200
MAX_TOKENS_LIMIT = 1_000_000

ALLOWED_PARAMS = ("max_tokens", "stop", "temperature", "top_p")


def _number(key: str, value: Any, low: float, high: float) -> float:
    # bool is an int in Python but not a number in JSON.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number")
    if not low <= value <= high:
        raise ValueError(f"{key} must be between {low:g} and {high:g}")
    return float(value)


def _max_tokens(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("max_tokens must be an integer")
    if not 1 <= value <= MAX_TOKENS_LIMIT:
        raise ValueError(f"max_tokens must be between 1 and {MAX_TOKENS_LIMIT}")
    return value


def _stop(value: Any) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(s, str) and s for s in items):
        raise ValueError("stop must be a non-empty string or a list of non-empty strings")
    if len(items) > MAX_STOP_SEQUENCES:
        raise ValueError(f"stop takes at most {MAX_STOP_SEQUENCES} sequences")
    if any(len(s) > MAX_STOP_CHARS for s in items):
        raise ValueError(f"stop sequences are at most {MAX_STOP_CHARS} characters")
    return list(items)


def check_params(value: dict[str, Any]) -> dict[str, Any]:
    """The params in their normal form (numbers as float, `stop` as a list), or ValueError
    naming the first key that is unknown or of the wrong type."""
    checked: dict[str, Any] = {}
    for key, item in value.items():
        if key == "temperature":
            checked[key] = _number(key, item, 0, 2)
        elif key == "top_p":
            checked[key] = _number(key, item, 0, 1)
        elif key == "max_tokens":
            checked[key] = _max_tokens(item)
        elif key == "stop":
            checked[key] = _stop(item)
        else:
            raise ValueError(
                f"{key!r} is not a supported parameter (allowed: {', '.join(ALLOWED_PARAMS)})"
            )
    return checked


def usable_params(value: Any) -> dict[str, Any]:
    """The valid part of a stored value (rows written before the check existed), never an
    error: routing must not fail a request because of an old row."""
    if not isinstance(value, dict):
        return {}
    found: dict[str, Any] = {}
    for key, item in value.items():
        try:
            found.update(check_params({key: item}))
        except ValueError:
            continue
    return found


CallParams = Annotated[dict[str, Any], AfterValidator(check_params)]
"""A `default_params` / `custom_params` input field: only the keys of `ALLOWED_PARAMS`."""
