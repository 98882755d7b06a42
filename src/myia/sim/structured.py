"""What the simulated providers check of a structured-output request before answering it.

OpenAI's `response_format` (https://platform.openai.com/docs/guides/structured-outputs):
`type` one of text / json_object / json_schema; json_schema needs a `name` (1-64 of
a-zA-Z0-9_-) and a `schema`; with `strict: true` the schema must be in the strict subset
(every object lists all its properties in `required` and sets `additionalProperties: false`);
json_object needs the word "json" somewhere in the messages. Bedrock's Converse
`outputConfig.textFormat` (type json_schema; `structure.jsonSchema.schema` a JSON *string*).
Both refuse a schema that is not a JSON Schema. A request that passes these checks gets an
answer valid against its schema (`toolargs.build_arguments`), unless the model's quirks say
otherwise (brain.Quirks).
"""

from __future__ import annotations

import json
import re
from typing import Any

from jsonschema import Draft202012Validator, SchemaError

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class SchemaProblem(ValueError):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def _valid_schema(schema: Any, param: str | None) -> dict[str, Any]:
    if not isinstance(schema, dict):
        raise SchemaProblem("The schema must be a JSON object.", param)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise SchemaProblem(f"Invalid JSON schema: {exc.message[:200]}", param) from exc
    return schema


_Where = tuple[str, ...]


def _children(schema: dict[str, Any], context: _Where) -> list[tuple[Any, _Where]]:
    """The subschemas strict mode also checks: properties, items, $defs and anyOf branches."""
    found: list[tuple[Any, _Where]] = []
    for keyword in ("properties", "$defs", "definitions"):
        value = schema.get(keyword)
        if isinstance(value, dict):
            found += [(child, (*context, keyword, name)) for name, child in value.items()]
    items = schema.get("items")
    if isinstance(items, dict):
        found.append((items, (*context, "items")))
    branches = schema.get("anyOf")
    if isinstance(branches, list):
        found += [(child, (*context, "anyOf", str(i))) for i, child in enumerate(branches)]
    return found


def _strict_problem(schema: Any, context: tuple[str, ...] = ()) -> str | None:
    """The first rule of OpenAI's strict subset `schema` breaks, worded as OpenAI does."""
    if not isinstance(schema, dict):
        return None
    properties = schema.get("properties")
    if schema.get("type") == "object" or isinstance(properties, dict):
        if schema.get("additionalProperties") is not False:
            return (
                f"In context={context}, 'additionalProperties' is required to be supplied "
                "and to be false."
            )
        missing = [n for n in properties or {} if n not in (schema.get("required") or [])]
        if missing:
            return (
                f"In context={context}, 'required' is required to be supplied and to be an "
                f"array including every key in properties. Missing '{missing[0]}'."
            )
    for child, where in _children(schema, context):
        found = _strict_problem(child, where)
        if found:
            return found
    return None


def openai_response_format(raw: Any, messages_text: str) -> tuple[bool, dict[str, Any] | None]:
    """(json mode, schema) for a chat-completions `response_format`; SchemaProblem if bad."""
    if raw is None:
        return False, None
    if not isinstance(raw, dict):
        raise SchemaProblem(
            "Invalid type for 'response_format': expected an object.", "response_format"
        )
    kind = raw.get("type")
    if kind == "text":
        return False, None
    if kind == "json_object":
        if not re.search("json", messages_text, re.IGNORECASE):
            raise SchemaProblem(
                "'messages' must contain the word 'json' in some form, to use "
                "'response_format' of type 'json_object'.",
                "messages",
            )
        return True, None
    if kind != "json_schema":
        raise SchemaProblem(
            f"Invalid value: '{kind}'. Supported values are: 'json_object', 'json_schema', "
            "and 'text'.",
            "response_format.type",
        )
    spec = raw.get("json_schema")
    if not isinstance(spec, dict):
        raise SchemaProblem("Missing required parameter: 'response_format.json_schema'.",
                            "response_format.json_schema")  # fmt: skip
    name = spec.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise SchemaProblem(
            "Invalid 'response_format.json_schema.name': expected a string of 1 to 64 "
            "letters, digits, underscores or dashes.",
            "response_format.json_schema.name",
        )
    schema = _valid_schema(spec.get("schema"), "response_format.json_schema.schema")
    if spec.get("strict") is True:
        problem = _strict_problem(schema)
        if problem:
            raise SchemaProblem(
                f"Invalid schema for response_format '{name}': {problem}", "response_format"
            )
    return True, schema


def bedrock_output_config(raw: Any) -> dict[str, Any] | None:
    """The schema of a Converse `outputConfig`, None without one; SchemaProblem if bad."""
    if raw is None:
        return None
    text_format = raw.get("textFormat") if isinstance(raw, dict) else None
    if text_format is None:
        return None
    if not isinstance(text_format, dict) or text_format.get("type") != "json_schema":
        raise SchemaProblem("outputConfig.textFormat.type must be json_schema.")
    definition = (text_format.get("structure") or {}).get("jsonSchema")
    if not isinstance(definition, dict) or not isinstance(definition.get("schema"), str):
        raise SchemaProblem("outputConfig.textFormat.structure.jsonSchema.schema is required.")
    try:
        schema = json.loads(definition["schema"])
    except ValueError as exc:
        raise SchemaProblem("The JSON schema is not valid JSON.") from exc
    return _valid_schema(schema, None)
