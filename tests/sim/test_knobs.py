"""Scenario knobs for certification: schema-breaking tool arguments, per-region lifecycle,
transient and slow regions, and structured output, through the real SDKs."""

from __future__ import annotations

import json
from typing import Any

import botocore.exceptions
import jsonschema
import pytest
from pydantic import ValidationError

from myia.sim import Outcome, running_simulator
from myia.sim.brain import respond
from myia.sim.conversation import Conversation, Message, Tool
from myia.sim.scenario import FixedLatency
from myia.sim.toolargs import break_arguments, build_arguments
from tests.sim.conftest import bedrock, openai_client, scenario_of, user

US, EU, AP = "us-east-1", "eu-west-1", "ap-southeast-2"
TRANSIENT = {"InternalServerException", "ModelErrorException"}  # the default failure_kinds

SCHEMAS: dict[str, dict[str, Any]] = {
    "flat_enum": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city", "unit"],
    },
    "ranges": {
        "type": "object",
        "properties": {
            "guests": {"type": "integer", "minimum": 1, "maximum": 12},
            "budget": {"type": "number", "exclusiveMinimum": 0, "maximum": 500},
            "nights": {"type": "integer", "minimum": 2, "multipleOf": 2},
        },
        "required": ["guests", "budget", "nights"],
        "additionalProperties": False,
    },
    "nested": {
        "type": "object",
        "properties": {
            "order": {
                "type": "object",
                "properties": {
                    "item": {"type": "string", "minLength": 3},
                    "quantity": {"type": "integer", "minimum": 1},
                    "shipping": {
                        "type": "object",
                        "properties": {
                            "speed": {"type": "string", "enum": ["standard", "express"]},
                            "address": {"type": "string", "maxLength": 20},
                        },
                        "required": ["speed", "address"],
                    },
                },
                "required": ["item", "quantity", "shipping"],
            },
            "note": {"type": "string"},
        },
        "required": ["order"],
    },
    "arrays": {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 3},
            "scores": {
                "type": "array",
                "items": {"type": "integer", "minimum": 0, "maximum": 10},
                "minItems": 2,
                "maxItems": 4,
                "uniqueItems": True,
            },
            "days": {
                "type": "array",
                "items": {"type": "string", "enum": ["mon", "tue", "wed"]},
                "minItems": 2,
                "uniqueItems": True,
            },
        },
        "required": ["tags", "scores", "days"],
    },
    "optional_and_nullable": {
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "limit": {"type": ["integer", "null"], "minimum": 1, "maximum": 50},
            "sort": {"anyOf": [{"type": "null"}, {"type": "string", "enum": ["asc", "desc"]}]},
            "exact": {"type": "boolean"},
        },
        "required": ["query"],
    },
}
PROMPTS = (
    "Book it for 40 guests, budget 9000, 3 nights, in Lisbon.",
    "Please do it.",
    "Sort desc and limit to 0 results for 'red shoes', exact match.",
    "Ship a pen by express to Rua Augusta 100, Lisbon, Portugal, quantity -2.",
)


@pytest.mark.parametrize("schema_name", sorted(SCHEMAS))
@pytest.mark.parametrize("prompt", PROMPTS)
def test_arguments_are_valid_for_varied_schemas(schema_name: str, prompt: str) -> None:
    schema = SCHEMAS[schema_name]
    arguments = build_arguments(schema, prompt)
    jsonschema.validate(arguments, schema)


def test_optional_fields_the_prompt_mentions_are_filled() -> None:
    arguments = build_arguments(SCHEMAS["optional_and_nullable"], PROMPTS[2])
    assert arguments["sort"] == "desc" and arguments["exact"] is True
    assert 1 <= arguments["limit"] <= 50
    assert build_arguments(SCHEMAS["optional_and_nullable"], "find it") == {"query": "find it"}


@pytest.mark.parametrize("schema_name", sorted(SCHEMAS))
@pytest.mark.parametrize("variant", range(6))
def test_broken_arguments_break_the_schema(schema_name: str, variant: int) -> None:
    schema = SCHEMAS[schema_name]
    broken = break_arguments(schema, build_arguments(schema, PROMPTS[0]), variant)
    assert not jsonschema.Draft202012Validator(schema).is_valid(broken)


def _tool_call(prompt: str, tools: list[Tool], choice: str = "auto") -> Any:
    conversation = Conversation([Message("user", [prompt])], tools=tools, tool_choice=choice)
    return respond(conversation).tool_calls


def test_no_tool_is_called_when_the_prompt_matches_none() -> None:
    tools = [
        Tool("get_weather", "Get the current weather for a city", SCHEMAS["flat_enum"]),
        Tool("book_hotel", "Book a hotel room for some guests", SCHEMAS["ranges"]),
    ]
    assert _tool_call("What is 17 + 25? Answer with only the number.", tools) == ()
    assert _tool_call("Tell me a joke about penguins.", tools) == ()
    (call,) = _tool_call("Book a hotel in Porto for 3 guests.", tools)
    assert call.name == "book_hotel"
    jsonschema.validate(call.arguments, SCHEMAS["ranges"])
    (forced,) = _tool_call("Tell me a joke.", tools, choice="any")
    jsonschema.validate(
        forced.arguments, SCHEMAS[{"get_weather": "flat_enum"}.get(forced.name, "ranges")]
    )


KNOBS = {
    "regions": {
        US: {},
        EU: {"failure_rate": 1.0},
        AP: {"latency": 60, "geography": "apac"},
    },
    "models": [
        {"id": "acme.clean-v1", "provider": "Acme"},
        {"id": "acme.sloppy-v1", "provider": "Acme", "tool_args_invalid_rate": 0.2},
        {"id": "acme.broken-v1", "provider": "Acme", "tool_args_invalid_rate": 0.1},
        {"id": "acme.quick-v1", "provider": "Acme", "latency": 0},
        {
            "id": "acme.aging-v1",
            "provider": "Acme",
            "region_lifecycle": {EU: "LEGACY", AP: "EOL"},
        },
        {"id": "acme.prose-v1", "provider": "Acme", "faults": ["json"]},
    ],
    "openai_providers": [
        {
            "slug": "vendor",
            "models": [
                {"id": "open-model", "tool_args_invalid_rate": 0.25},
                {"id": "prose-model", "faults": ["json"]},
            ],
        }
    ],
}
WEATHER = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "inputSchema": {"json": SCHEMAS["flat_enum"]},
    }
}


def test_ground_truth_of_the_knobs() -> None:
    scenario = scenario_of(**KNOBS)
    assert scenario.expected_outcome("acme.sloppy-v1", US) == Outcome.lacks({"tools"})
    assert scenario.expected_outcome("acme.broken-v1", US) == Outcome.works(), "0.1 is at the bar"
    assert scenario.expected_outcome("acme.clean-v1", EU) == Outcome.works(), "transient"
    assert scenario.expected_outcome("acme.aging-v1", EU) == Outcome.works(), "LEGACY works"
    assert scenario.expected_outcome("acme.aging-v1", AP) == Outcome.eol()
    assert scenario.expected_outcome("acme.aging-v1", US) == Outcome.works()
    assert scenario.expected_outcome("open-model", "vendor") == Outcome.lacks({"tools"})
    clean, quick = scenario.model("acme.clean-v1"), scenario.model("acme.quick-v1")
    assert clean is not None and quick is not None
    assert scenario.latency_for(clean, AP) == FixedLatency(ms=60)
    assert scenario.latency_for(quick, AP) == FixedLatency(ms=0), "the model's own wins"
    assert scenario.latency_for(clean, US) == scenario.defaults.latency
    assert scenario.failure_rate_for(clean, EU) == 1.0


def test_region_lifecycle_must_name_the_models_regions() -> None:
    with pytest.raises(ValidationError, match="region_lifecycle"):
        scenario_of(
            regions=[US, EU],
            models=[
                {"id": "m", "provider": "X", "regions": [US], "region_lifecycle": {EU: "LEGACY"}}
            ],
        )


def _weather_calls(client: Any, model: str, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        response = client.converse(
            modelId=model,
            messages=[user(f"What is the weather in Lisbon on day {i}?")],
            toolConfig={"tools": [WEATHER]},
        )
        (block,) = [b for b in response["output"]["message"]["content"] if "toolUse" in b]
        out.append(block["toolUse"]["input"])
    return out


def test_tool_args_invalid_rate_is_exact_over_a_run() -> None:
    scenario = scenario_of(**KNOBS)
    validator = jsonschema.Draft202012Validator(SCHEMAS["flat_enum"])
    with running_simulator(scenario) as sim:
        runtime = bedrock(sim, region=US)
        sloppy = _weather_calls(runtime, "acme.sloppy-v1", 20)
        clean = _weather_calls(runtime, "acme.clean-v1", 20)
        client = openai_client(sim, "vendor")
        tool = {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Get the current weather for a city",
                "parameters": SCHEMAS["flat_enum"],
            },
        }
        vendor = []
        for i in range(8):
            completion = client.chat.completions.create(
                model="open-model",
                messages=[{"role": "user", "content": f"Weather in Oslo, day {i}?"}],
                tools=[tool],  # type: ignore[list-item]
            )
            (call,) = completion.choices[0].message.tool_calls or []
            vendor.append(json.loads(call.function.arguments))  # type: ignore[union-attr]
    assert [validator.is_valid(a) for a in sloppy].count(False) == 4
    assert all(validator.is_valid(a) for a in clean)
    assert [validator.is_valid(a) for a in vendor].count(False) == 2


def test_region_lifecycle_in_the_listing_and_at_run_time() -> None:
    with running_simulator(scenario_of(**KNOBS)) as sim:
        status = {}
        for region in (US, EU, AP):
            listing = bedrock(sim, "bedrock", region).list_foundation_models()["modelSummaries"]
            found = [m for m in listing if m["modelId"] == "acme.aging-v1"]
            status[region] = found[0]["modelLifecycle"]["status"] if found else None
        assert status == {US: "ACTIVE", EU: "LEGACY", AP: None}
        ok = bedrock(sim, region=EU)
        with pytest.raises(botocore.exceptions.ClientError, match="end of its life"):
            bedrock(sim, region=AP).converse(modelId="acme.aging-v1", messages=[user("hi")])
        with pytest.raises(botocore.exceptions.ClientError) as failed:
            ok.converse(modelId="acme.aging-v1", messages=[user("hi")])
        assert failed.value.response["Error"]["Code"] in TRANSIENT, (
            "EU fails every call transiently (failure_rate 1.0), LEGACY or not"
        )


def test_slow_and_failing_regions() -> None:
    with running_simulator(scenario_of(**KNOBS)) as sim:
        slow = bedrock(sim, region=AP).converse(modelId="acme.clean-v1", messages=[user("hi")])
        assert slow["metrics"]["latencyMs"] >= 60
        for _ in range(3):
            with pytest.raises(botocore.exceptions.ClientError) as failed:
                bedrock(sim, region=EU).converse(modelId="acme.clean-v1", messages=[user("hi")])
            assert failed.value.response["Error"]["Code"] in TRANSIENT
        assert bedrock(sim, region=US).converse(modelId="acme.clean-v1", messages=[user("hi")])


REPLY_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "address": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
            "required": ["city", "zip"],
            "additionalProperties": False,
        },
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
    },
    "required": ["name", "age", "address", "tags"],
    "additionalProperties": False,
}


def test_openai_json_schema_answers_valid_json() -> None:
    with running_simulator(scenario_of(**KNOBS)) as sim:
        client = openai_client(sim, "vendor")
        fmt: Any = {
            "type": "json_schema",
            "json_schema": {"name": "person", "schema": REPLY_SCHEMA, "strict": True},
        }
        messages: Any = [{"role": "user", "content": "Describe Ada, 36, from London."}]
        good = client.chat.completions.create(
            model="open-model", messages=messages, response_format=fmt
        )
        jsonschema.validate(json.loads(good.choices[0].message.content or ""), REPLY_SCHEMA)
        bad = client.chat.completions.create(
            model="prose-model", messages=messages, response_format=fmt
        )
        with pytest.raises(json.JSONDecodeError):
            json.loads(bad.choices[0].message.content or "")


def test_bedrock_forced_tool_is_structured_output() -> None:
    record = {
        "toolSpec": {
            "name": "record_person",
            "description": "Record a person",
            "inputSchema": {"json": REPLY_SCHEMA},
        }
    }
    config = {"tools": [record], "toolChoice": {"tool": {"name": "record_person"}}}
    prompt = [user("Answer in JSON: describe Ada, 36, from London.")]
    with running_simulator(scenario_of(**KNOBS)) as sim:
        runtime = bedrock(sim, region=US)
        for model in ("acme.clean-v1", "acme.sloppy-v1", "acme.sloppy-v1", "acme.sloppy-v1"):
            out = runtime.converse(modelId=model, messages=prompt, toolConfig=config)
            (block,) = out["output"]["message"]["content"]
            jsonschema.validate(block["toolUse"]["input"], REPLY_SCHEMA)
        prose = runtime.converse(modelId="acme.prose-v1", messages=prompt, toolConfig=config)
        assert prose["stopReason"] == "end_turn"
        assert "toolUse" not in prose["output"]["message"]["content"][0]


def test_the_ground_truth_bar_is_certification_s() -> None:
    from myia.certification.toolcalls import MIN_SCHEMA_ACCURACY
    from myia.sim.outcome import TOOL_SCHEMA_ACCURACY_MIN

    assert TOOL_SCHEMA_ACCURACY_MIN == MIN_SCHEMA_ACCURACY
