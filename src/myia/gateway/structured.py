"""`response_format` of a chat-completions request -> `ChatRequest` structured-output fields.

OpenAI's three shapes: `{"type": "text"}` (the default, nothing to do), `{"type":
"json_object"}` (any JSON object) and `{"type": "json_schema", "json_schema": {"name",
"schema", "strict", "description"}}`. Every refusal is a 400 naming the `response_format.…`
parameter. The schema is bounded (size and nesting, checked before anything walks it) and
must itself be a valid JSON Schema (draft 2020-12) whose root is an object, as OpenAI requires:
a schema no upstream could honour is refused here rather than upstream, where the refusal
would look like a provider failure.
"""

from __future__ import annotations

import json
import re
from typing import Any

from jsonschema import Draft202012Validator, SchemaError

from myia.gateway.errors import invalid

PARAM = "response_format"
MAX_SCHEMA_CHARS = 100_000  # serialised; OpenAI's own cap on a schema's strings is 120,000
MAX_SCHEMA_DEPTH = 32  # nested objects/arrays in the schema document
MAX_DESCRIPTION_CHARS = 4_096
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_SCHEMA = f"{PARAM}.json_schema.schema"


def _depth(value: Any) -> int:
    """How deeply `value` nests, without recursion (a hostile schema cannot blow the stack)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            if deepest > MAX_SCHEMA_DEPTH:
                return deepest
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _schema(raw: Any) -> dict[str, Any]:
    if raw is None:
        raise invalid(f"{_SCHEMA} is required", param=_SCHEMA)
    if not isinstance(raw, dict):
        raise invalid(f"{_SCHEMA} must be an object (a JSON Schema)", param=_SCHEMA)
    # Depth first, without recursion: serialising (and the validator) would recurse.
    if _depth(raw) > MAX_SCHEMA_DEPTH:
        raise invalid(f"{_SCHEMA} nests deeper than {MAX_SCHEMA_DEPTH} levels", param=_SCHEMA)
    # The body was JSON, so the schema serialises; its size is what an upstream receives.
    if len(json.dumps(raw)) > MAX_SCHEMA_CHARS:
        raise invalid(f"{_SCHEMA} is larger than {MAX_SCHEMA_CHARS} characters", param=_SCHEMA)
    try:
        Draft202012Validator.check_schema(raw)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise invalid(
            f"{_SCHEMA} is not a valid JSON Schema at {where}: {exc.message[:200]}",
            param=_SCHEMA,
        ) from exc
    if raw.get("type") != "object":
        raise invalid(f'{_SCHEMA} must describe an object ("type": "object")', param=_SCHEMA)
    return raw


def _json_schema(raw: Any) -> dict[str, Any]:
    at = f"{PARAM}.json_schema"
    if not isinstance(raw, dict):
        raise invalid(f"{at} is required with type json_schema and must be an object", param=at)
    unknown = sorted(set(raw) - {"name", "schema", "strict", "description"})
    if unknown:
        raise invalid(f"{at}.{unknown[0]} is not a known field", param=f"{at}.{unknown[0]}")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise invalid(
            f"{at}.name is required: 1 to 64 letters, digits, underscores or dashes",
            param=f"{at}.name",
        )
    strict = raw.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise invalid(f"{at}.strict must be a boolean", param=f"{at}.strict")
    description = raw.get("description")
    if description is not None and (
        not isinstance(description, str) or len(description) > MAX_DESCRIPTION_CHARS
    ):
        raise invalid(
            f"{at}.description must be a string of at most {MAX_DESCRIPTION_CHARS} characters",
            param=f"{at}.description",
        )
    return {
        "json_schema": _schema(raw.get("schema")),
        "schema_name": name,
        "schema_description": description,
        "schema_strict": strict,
    }


def parse_response_format(data: dict[str, Any]) -> dict[str, Any]:
    """The `ChatRequest` fields `data["response_format"]` asks for; empty for none or text."""
    raw = data.get(PARAM)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise invalid(f"{PARAM} must be an object", param=PARAM)
    kind = raw.get("type")
    if kind == "text":
        extra = sorted(set(raw) - {"type"})
        if extra:
            raise invalid(f"{PARAM}.{extra[0]} is not allowed with type text", param=PARAM)
        return {}
    if kind == "json_object":
        extra = sorted(set(raw) - {"type"})
        if extra:
            raise invalid(
                f"{PARAM}.{extra[0]} is not allowed with type json_object",
                param=f"{PARAM}.{extra[0]}",
            )
        return {"json_object": True}
    if kind == "json_schema":
        extra = sorted(set(raw) - {"type", "json_schema"})
        if extra:
            raise invalid(f"{PARAM}.{extra[0]} is not a known field", param=f"{PARAM}.{extra[0]}")
        return _json_schema(raw.get("json_schema"))
    raise invalid(
        f"{PARAM}.type must be one of text, json_object, json_schema", param=f"{PARAM}.type"
    )
