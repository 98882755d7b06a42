"""What the simulator checks of a structured-output request, and what it answers.

OpenAI's `response_format` (name, a JSON Schema, the strict subset, "json" for json_object)
and Bedrock's `outputConfig` (the schema as a JSON string) are refused as those APIs do;
a schema in gets a schema-valid answer out ($refs followed), unless the model breaks
schemas (`breaks_schemas`) or answers prose (the `json` fault).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from myia.sim.brain import Quirks, respond
from myia.sim.conversation import Conversation, Message, Tool
from myia.sim.structured import SchemaProblem, bedrock_output_config, openai_response_format
from myia.sim.toolargs import build_arguments

STRICT: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "guests": {"type": "integer", "minimum": 1}},
    "required": ["city", "guests"],
    "additionalProperties": False,
}
NESTED: dict[str, Any] = {
    "$defs": {"Guest": {"type": "object", "properties": {"age": {"type": "integer"}},
                        "required": ["age"], "additionalProperties": False}},
    "type": "object",
    "properties": {"host": {"$ref": "#/$defs/Guest"},
                   "guests": {"type": "array", "items": {"$ref": "#/$defs/Guest"}}},
    "required": ["host", "guests"],
    "additionalProperties": False,
}  # fmt: skip
MESSAGES = "[{'role': 'user', 'content': 'The party as JSON, in Porto, 12 guests.'}]"


def _format(schema: Any = STRICT, **extra: Any) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "party", "schema": schema, **extra}}


@pytest.mark.parametrize(
    ("raw", "param", "words"),
    [
        ("json", "response_format", "expected an object"),
        ({"type": "yaml"}, "response_format.type", "Supported values"),
        ({"type": "json_schema"}, "response_format.json_schema", "Missing"),
        ({"type": "json_schema", "json_schema": {"schema": STRICT}},
         "response_format.json_schema.name", "name"),
        (_format({"type": 5}), "response_format.json_schema.schema", "Invalid JSON schema"),
        (_format({**STRICT, "additionalProperties": True}, strict=True), "response_format",
         "'additionalProperties' is required to be supplied and to be false"),
        (_format({**STRICT, "required": ["city"]}, strict=True), "response_format",
         "Missing 'guests'"),
        (_format(NESTED | {"$defs": {"Guest": {"type": "object", "properties": {}}}},
                 strict=True), "response_format", "context=('$defs', 'Guest')"),
    ],
)  # fmt: skip
def test_openai_response_format_is_checked(raw: Any, param: str, words: str) -> None:
    with pytest.raises(SchemaProblem) as refused:
        openai_response_format(raw, MESSAGES)
    assert refused.value.param == param and words in refused.value.message


def test_openai_response_format_accepted_shapes() -> None:
    assert openai_response_format(None, MESSAGES) == (False, None)
    assert openai_response_format({"type": "text"}, MESSAGES) == (False, None)
    assert openai_response_format(_format(strict=True), MESSAGES) == (True, STRICT)
    assert openai_response_format(_format(NESTED, strict=True), MESSAGES) == (True, NESTED)
    # Not strict: a schema outside the strict subset is fine.
    assert openai_response_format(_format({"type": "object"}), MESSAGES)[0] is True
    assert openai_response_format({"type": "json_object"}, MESSAGES) == (True, None)
    with pytest.raises(SchemaProblem) as refused:
        openai_response_format({"type": "json_object"}, "[{'content': 'hello'}]")
    assert refused.value.param == "messages"


def test_bedrock_output_config_takes_the_schema_as_a_json_string() -> None:
    def config(schema: str) -> dict[str, Any]:
        structure = {"jsonSchema": {"schema": schema, "name": "party"}}
        return {"textFormat": {"type": "json_schema", "structure": structure}}

    assert bedrock_output_config(None) is None
    assert bedrock_output_config(config(json.dumps(STRICT))) == STRICT
    for bad in ("{not json", json.dumps({"type": 5})):
        with pytest.raises(SchemaProblem):
            bedrock_output_config(config(bad))
    with pytest.raises(SchemaProblem):
        bedrock_output_config({"textFormat": {"type": "json_schema", "structure": {}}})


def _valid(value: Any, schema: dict[str, Any]) -> bool:
    return not list(Draft202012Validator(schema).iter_errors(value))


def test_answers_follow_refs_and_validate() -> None:
    value = build_arguments(NESTED, "The party as JSON, in Porto, 12 guests.")
    assert _valid(value, NESTED) and value["host"]["age"] == 12


def _ask(schema: dict[str, Any], **fields: Any) -> Conversation:
    prompt = "The party as JSON, in Porto, 12 guests."
    return Conversation([Message("user", [prompt])], **fields)


@pytest.mark.parametrize("schema", [STRICT, NESTED])
def test_schema_breaking_and_prose_models(schema: dict[str, Any]) -> None:
    asked = _ask(schema, json_mode=True, json_schema=schema)
    assert _valid(json.loads(respond(asked).text), schema)
    broken = json.loads(respond(asked, quirks=Quirks(breaks_schemas=True)).text)
    assert not _valid(broken, schema)
    prose = respond(asked, quirks=Quirks(prose_json=True)).text
    with pytest.raises(ValueError):
        json.loads(prose)
    # Bedrock's forced answer tool on a JSON prompt: valid arguments, or broken ones.
    forced = _ask(schema, tools=[Tool("party", "", schema)], tool_choice="tool",
                  forced_tool="party")  # fmt: skip
    assert _valid(respond(forced).tool_calls[0].arguments, schema)
    call = respond(forced, quirks=Quirks(breaks_schemas=True)).tool_calls[0]
    assert not _valid(call.arguments, schema)
