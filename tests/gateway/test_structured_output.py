"""Structured output (`response_format`) through the gateway to the simulator, end to end.

- json_schema answers parse and validate against the schema, plain and streamed, on an
  OpenAI-compatible route (passed through as `response_format`, `name` and `strict` kept: the
  simulator refuses a strict schema outside OpenAI's strict subset, so `strict` must arrive)
  and on Bedrock routes: native `outputConfig` (Claude Sonnet 4.5) and a forced answer tool
  (Nova) whose arguments come back as the message's content, finish reason `stop`.
- json_object gives a JSON object on both kinds of route.
- A bad `response_format` is a 400 naming its `param`, and nothing reaches a provider.
- Routing requires `structured_output` when a schema is asked: the cheaper deployment whose
  certification failed it serves plain chat but not schemas, and a model with no deployment
  that passed it answers 400 `model_not_routable`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from myia.apikeys.service import create_api_key
from myia.db.enums import AuthType
from myia.sim import Scenario, SimServer
from tests.factories import (
    make_base_model,
    make_certification,
    make_deployment,
    make_provider,
    make_user,
)
from tests.sim_support import AppServer

CLAUDE = "anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "amazon.nova-pro-v1:0"
REGION = "us-east-1"
PASSED = ("streaming", "tool_calling", "json_output", "structured_output")

EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 1},
        "guests": {"type": "integer", "minimum": 1, "maximum": 50},
        "kind": {"type": "string", "enum": ["wedding", "concert", "meeting"]},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    },
    "required": ["city", "guests", "kind", "tags"],
    "additionalProperties": False,
}
PROMPT = "Give the event as JSON: a concert in Lisbon for 12 guests."


def response_format(schema: dict[str, Any] = EVENT_SCHEMA, **extra: Any) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "event", "schema": schema, **extra}}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario.model_validate(
        {
            "name": "structured-output",
            "seed": 5,
            "defaults": {"latency": 0, "time_to_first_token": 0, "tokens_per_second": 0},
            "regions": {REGION: {}},
            "models": [
                {"id": CLAUDE, "provider": "Anthropic", "inference_types": ["ON_DEMAND"]},
                {"id": NOVA, "provider": "Amazon", "inference_types": ["ON_DEMAND"]},
            ],
            "openai_providers": [
                {"slug": "goodco", "models": [{"id": "struct-model", "owned_by": "acme"}]},
                # Cheaper, and answers prose where JSON is asked: it fails certification's
                # structured_output battery (tests/certification/test_structured_output.py).
                {
                    "slug": "proseco",
                    "models": [
                        {"id": "struct-model", "owned_by": "acme", "faults": ["json"]},
                        {"id": "prose-model", "owned_by": "acme", "faults": ["json"]},
                    ],
                },
            ],
        }
    )


@dataclass
class World:
    key: str


def _results(passed: tuple[str, ...], failed: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [{"name": "core", "capability": None, "status": "passed"}]
    rows += [{"name": c, "capability": c, "status": "passed"} for c in passed]
    rows += [{"name": c, "capability": c, "status": "failed"} for c in failed]
    return rows


async def make_world(session: AsyncSession, sim: SimServer) -> World:
    struct = await make_base_model(session, name="Struct Chat", vendor="Acme")
    prose_only = await make_base_model(session, name="Prose Only", vendor="Acme")
    for slug, price in (("goodco", 1.0), ("proseco", 0.1)):
        provider = await make_provider(
            session, slug=slug, name=slug, base_url=f"{sim.base_url}/{slug}/v1", is_simulated=True
        )
        deployment = await make_deployment(
            session,
            base_model=struct,
            provider=provider,
            deployment_id="struct-model",
            cost_per_1m_input=price,
            cost_per_1m_output=price,
        )
        adheres = slug == "goodco"
        results = _results(PASSED) if adheres else _results(PASSED[:3], ("structured_output",))
        await make_certification(
            session, deployment=deployment, region="global", test_results=results
        )
        if not adheres:
            alone = await make_deployment(
                session, base_model=prose_only, provider=provider, deployment_id="prose-model"
            )
            await make_certification(
                session, deployment=alone, region="global", test_results=results
            )
    bedrock = await make_provider(
        session,
        slug="bedrock",
        name="Bedrock (simulated)",
        auth_type=AuthType.AWS_CREDENTIALS,
        base_url=sim.base_url,
        is_simulated=True,
    )
    for name, model_id in (("Claude Four", CLAUDE), ("Nova Sim", NOVA)):
        base = await make_base_model(session, name=name, vendor="Aws")
        deployment = await make_deployment(
            session, base_model=base, provider=bedrock, deployment_id=model_id
        )
        await make_certification(
            session, deployment=deployment, region=REGION, test_results=_results(PASSED)
        )
    user = await make_user(session)
    _, key = await create_api_key(session=session, user_id=user.id, name="structured")
    return World(key=key)


def _valid(text: str | None, schema: dict[str, Any] = EVENT_SCHEMA) -> dict[str, Any]:
    assert text, "no content"
    value = json.loads(text)
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(value)]
    assert not errors, f"{value} breaks the schema: {errors}"
    assert isinstance(value, dict)
    return value


def _streamed(client: openai.OpenAI, **kwargs: Any) -> tuple[str, str | None, bool]:
    """(content, finish reason, whether a tool call delta appeared) of a streamed answer."""
    parts: list[str] = []
    finish = None
    tool_delta = False
    for chunk in client.chat.completions.create(stream=True, **kwargs):
        for choice in chunk.choices:
            parts.append(choice.delta.content or "")
            tool_delta = tool_delta or bool(choice.delta.tool_calls)
            finish = choice.finish_reason or finish
    return "".join(parts), finish, tool_delta


@pytest.mark.parametrize("model", ["struct-chat", "claude-four", "nova-sim"])
async def test_json_schema_answers_validate_plain_and_streamed(
    session: AsyncSession, db_url: str, fresh_sim: SimServer, model: str
) -> None:
    world = await make_world(session, fresh_sim)
    messages: Any = [{"role": "user", "content": PROMPT}]
    with AppServer(db_url) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=world.key, max_retries=0)
        raw = client.chat.completions.with_raw_response.create(
            model=model, messages=messages, response_format=response_format()
        )
        answer = raw.parse()
        choice = answer.choices[0]
        value = _valid(choice.message.content)
        assert value["city"] == "Lisbon" and value["guests"] == 12
        assert choice.finish_reason == "stop" and not choice.message.tool_calls
        if model == "struct-chat":  # the adhering deployment, though the dearer one
            assert raw.headers["x-myia-provider"] == "goodco"

        text, finish, tool_delta = _streamed(
            client, model=model, messages=messages, response_format=response_format()
        )
        assert _valid(text) == value
        assert finish == "stop" and not tool_delta


class Guest(BaseModel):
    name: str
    age: int


class Party(BaseModel):
    city: str
    host: Guest  # nested: the SDK's schema uses $defs / $ref
    guests: list[Guest]


@pytest.mark.parametrize("model", ["struct-chat", "nova-sim"])
async def test_openai_sdk_parse_with_a_strict_pydantic_schema(
    session: AsyncSession, db_url: str, fresh_sim: SimServer, model: str
) -> None:
    """`chat.completions.parse()` sends a strict schema with $defs; its answer parses back."""
    world = await make_world(session, fresh_sim)
    with AppServer(db_url) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=world.key, max_retries=0)
        parsed = client.chat.completions.parse(
            model=model,
            messages=[{"role": "user", "content": "Describe a party in Porto as JSON."}],
            response_format=Party,
        )
        party = parsed.choices[0].message.parsed
        assert isinstance(party, Party) and party.guests


async def test_strict_reaches_the_openai_upstream(
    session: AsyncSession, db_url: str, fresh_sim: SimServer
) -> None:
    """A schema outside OpenAI's strict subset: refused upstream with strict, fine without."""
    world = await make_world(session, fresh_sim)
    loose = {"type": "object", "properties": {"city": {"type": "string"}}}
    messages = [{"role": "user", "content": "The city as JSON: Lisbon."}]
    with AppServer(db_url) as server:
        async with httpx.AsyncClient(timeout=30) as http:
            url = f"{server.url}/v1/chat/completions"
            headers = {"Authorization": f"Bearer {world.key}"}
            body = {"model": "struct-chat", "messages": messages}
            ok = await http.post(
                url, headers=headers, json={**body, "response_format": response_format(loose)}
            )
            assert ok.status_code == 200, ok.text
            _valid(ok.json()["choices"][0]["message"]["content"], loose)
            strict = await http.post(
                url,
                headers=headers,
                json={**body, "response_format": response_format(loose, strict=True)},
            )
            assert strict.status_code == 400, strict.text
            assert strict.json()["error"]["code"] == "upstream_rejected_request"


@pytest.mark.parametrize("model", ["struct-chat", "claude-four", "nova-sim"])
async def test_json_object_gives_a_json_object(
    session: AsyncSession, db_url: str, fresh_sim: SimServer, model: str
) -> None:
    world = await make_world(session, fresh_sim)
    with AppServer(db_url) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=world.key, max_retries=0)
        answer = client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "Reply in JSON with the keys name and city."}],
            response_format={"type": "json_object"},
        )
        content = answer.choices[0].message.content
        assert isinstance(json.loads(content or ""), dict)
        assert answer.choices[0].finish_reason == "stop"


def _deep(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"x": schema}}
    return schema


BAD_FORMATS: list[tuple[Any, str]] = [
    ("json", "response_format"),
    ({"type": "xml"}, "response_format.type"),
    ({"type": "json_schema"}, "response_format.json_schema"),
    ({"type": "json_schema", "json_schema": {"schema": EVENT_SCHEMA}},
     "response_format.json_schema.name"),
    (response_format(strict="yes"), "response_format.json_schema.strict"),
    (response_format({"type": "objekt"}), "response_format.json_schema.schema"),
    (response_format({"type": "array", "items": {}}), "response_format.json_schema.schema"),
    (response_format(_deep(20)), "response_format.json_schema.schema"),  # over 32 levels
    ({"type": "json_object", "schema": {}}, "response_format.schema"),
]  # fmt: skip


async def test_bad_response_format_is_a_400_naming_the_param(
    session: AsyncSession, db_url: str, fresh_sim: SimServer
) -> None:
    world = await make_world(session, fresh_sim)
    with AppServer(db_url) as server:
        async with httpx.AsyncClient(timeout=30) as http:
            for value, param in BAD_FORMATS:
                answer = await http.post(
                    f"{server.url}/v1/chat/completions",
                    headers={"Authorization": f"Bearer {world.key}"},
                    json={"model": "struct-chat", "messages": [{"role": "user", "content": "hi"}],
                          "response_format": value},
                )  # fmt: skip
                assert answer.status_code == 400, (value, answer.text)
                error = answer.json()["error"]
                assert error["param"] == param, (value, error)
                assert error["type"] == "invalid_request_error"
    assert fresh_sim.stats.calls == 0  # refused before any provider was asked


async def test_schema_requests_route_only_to_adhering_deployments(
    session: AsyncSession, db_url: str, fresh_sim: SimServer
) -> None:
    world = await make_world(session, fresh_sim)
    messages = [{"role": "user", "content": PROMPT}]
    with AppServer(db_url) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=world.key, max_retries=0)
        plain = client.chat.completions.with_raw_response.create(
            model="struct-chat", messages=messages
        )
        assert plain.headers["x-myia-provider"] == "proseco"  # cheapest, fine for prose
        asked = client.chat.completions.with_raw_response.create(
            model="struct-chat", messages=messages, response_format=response_format()
        )
        assert asked.headers["x-myia-provider"] == "goodco"
        _valid(asked.parse().choices[0].message.content)

        assert client.chat.completions.create(model="prose-only", messages=messages).choices
        with pytest.raises(openai.BadRequestError) as refused:
            client.chat.completions.create(
                model="prose-only", messages=messages, response_format=response_format()
            )
        error: Any = refused.value.body
        assert error["code"] == "model_not_routable" and error["param"] == "model"
        assert "structured_output" in error["message"]
