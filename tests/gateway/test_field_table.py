"""The request-field table (`myia.gateway.fields`) walked through `myia`'s app to the simulator.

For every Chat Completions field, on an OpenAI-compatible route and on a Bedrock route: a
refused one answers 400 naming it; a passed or mapped one reaches the simulator as the table
says (the simulator keeps the last request body it received, `SimServer.last_request`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_type_hints

import httpx
import pytest
from openai.types.chat.completion_create_params import CompletionCreateParamsBase
from sqlalchemy.ext.asyncio import AsyncSession

from myia.apikeys.service import create_api_key
from myia.db.enums import AuthType
from myia.gateway.fields import BY_NAME, FIELDS, Kind, markdown_table, nested_markdown_table
from myia.sim import Scenario, SimServer, load_scenario
from tests.factories import (
    make_base_model,
    make_certification,
    make_deployment,
    make_provider,
    make_user,
)
from tests.gateway.conftest import ALL_PASSED, results
from tests.gateway.test_openai_sdk import WEATHER_TOOL
from tests.sim_support import AppServer

ROOT = Path(__file__).resolve().parents[2]
PLAIN = "plain-chat"  # plainco/plain-model
THINKER = "thinker-chat"  # plainco/thinker-model (a reasoning model)
CLAUDE = "claude-plain"  # Bedrock Claude 3.5 Sonnet: no extended thinking
THINKING_CLAUDE = "claude-think"  # Bedrock Claude 3.7 Sonnet
MIXED = "mixed-chat"  # Bedrock (cheaper) and plainco
REGION = "us-east-1"
WEATHER: dict[str, Any] = WEATHER_TOOL
# One value per field; for a field Bedrock refuses, a value it does not accept.
SAMPLES: dict[str, Any] = {
    "audio": {"voice": "alloy", "format": "wav"},
    "frequency_penalty": 0.5,
    "function_call": "auto",
    "functions": [{"name": "f", "parameters": {"type": "object"}}],
    "logit_bias": {"50256": -100},
    "logprobs": True,
    "max_completion_tokens": 50,
    "max_tokens": 50,
    "metadata": {"team": "search"},
    "modalities": ["text", "audio"],
    "moderation": {"model": "omni-moderation-latest"},
    "n": 1,
    "parallel_tool_calls": False,
    "prediction": {"type": "content", "content": "42"},
    "presence_penalty": 0.5,
    "prompt_cache_key": "k1",
    "prompt_cache_options": {"mode": "implicit"},
    "prompt_cache_retention": "24h",
    "reasoning_effort": "low",
    "response_format": {"type": "json_object"},
    "safety_identifier": "hash-of-user-1",
    "seed": 7,
    "service_tier": "flex",
    "stop": ["zzz"],
    "store": True,
    "stream": True,
    "stream_options": {"include_usage": True},
    "temperature": 0.3,
    "tool_choice": "none",
    "tools": [WEATHER],
    "top_logprobs": 2,
    "top_p": 0.9,
    "user": "end-user-1",
    "verbosity": "low",
    "web_search_options": {},
}
# Fields that only make sense with others.
COMPANIONS: dict[str, dict[str, Any]] = {
    "parallel_tool_calls": {"tools": [WEATHER]},
    "tool_choice": {"tools": [WEATHER]},
    "stream_options": {"stream": True},
    "response_format": {"messages": [{"role": "user", "content": "Reply in JSON: a colour"}]},
}
Check = Callable[[dict[str, Any], httpx.Response], None]


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(Path(__file__).parent / "fields.yaml")


async def _world(session: AsyncSession, sim: SimServer) -> str:
    """The models above, all certified with every capability; the API key."""
    plainco = await make_provider(
        session, slug="plainco", name="plainco", base_url=f"{sim.base_url}/plainco/v1",
        is_simulated=True,
    )  # fmt: skip
    bedrock = await make_provider(
        session, slug="bedrock", name="Bedrock (simulated)", base_url=sim.base_url,
        auth_type=AuthType.AWS_CREDENTIALS, is_simulated=True,
    )  # fmt: skip
    claude35 = "anthropic.claude-3-5-sonnet-20241022-v2:0"
    claude37 = "anthropic.claude-3-7-sonnet-20250219-v1:0"
    routes = {
        "Plain Chat": [(plainco, "plain-model", 1.0)],
        "Thinker Chat": [(plainco, "thinker-model", 1.0)],
        "Claude Plain": [(bedrock, claude35, 1.0)],
        "Claude Think": [(bedrock, claude37, 1.0)],
        "Mixed Chat": [(bedrock, "amazon.nova-lite-v1:0", 0.5), (plainco, "mixed-model", 5.0)],
        "Tiny Bedrock": [(bedrock, "amazon.nova-micro-v1:0", 1.0)],
        "Tiny Chat": [(plainco, "tiny-model", 1.0)],
    }
    passed = (*ALL_PASSED, "structured_output")
    for name, deployments in routes.items():
        base = await make_base_model(
            session, name=name, vendor="Acme",
            capabilities={"streaming": True, "tool_calling": True, "json_output": True},
        )  # fmt: skip
        for provider, deployment_id, price in deployments:
            deployment = await make_deployment(
                session, base_model=base, provider=provider, deployment_id=deployment_id,
                cost_per_1m_input=price, cost_per_1m_output=price * 2,
            )  # fmt: skip
            region = REGION if provider is bedrock else "global"
            await make_certification(
                session, deployment=deployment, region=region, test_results=results(passed)
            )
    user = await make_user(session)
    _, key = await create_api_key(session=session, user_id=user.id, name="fields")
    return key


def _post(client: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return client.post("/v1/chat/completions", json=body)


def _request(model: str, field: str, value: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": "What is 12 + 30?"}],
    }
    body.update(COMPANIONS.get(field, {}))
    body[field] = value
    return body


def _refused(response: httpx.Response, param: str) -> None:
    assert response.status_code == 400, (param, response.text)
    error = response.json()["error"]
    assert error["param"] == param, error
    assert error["type"] == "invalid_request_error"


def _sse(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.headers["content-type"].startswith("text/event-stream"), response.text
    frames = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert frames[-1] == "[DONE]"
    return [json.loads(frame) for frame in frames[:-1]]


def _message(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    message: dict[str, Any] = response.json()["choices"][0]["message"]
    return message


def _streamed(seen: dict[str, Any], response: httpx.Response) -> None:
    chunks = _sse(response)
    assert any(c["choices"] and c["choices"][0]["delta"].get("content") for c in chunks)


def _usage_chunk(seen: dict[str, Any], response: httpx.Response) -> None:
    chunks = _sse(response)
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


def _tool_deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    deltas = [chunk["choices"][0]["delta"] for chunk in chunks if chunk["choices"]]
    return [call for delta in deltas for call in delta.get("tool_calls", [])]


def _openai_checks() -> dict[str, Check]:
    def seen_as(key: str, value: Any) -> Check:
        def check(seen: dict[str, Any], _: httpx.Response) -> None:
            assert seen[key] == value, (key, seen.get(key))

        return check

    def n(seen: dict[str, Any], _: httpx.Response) -> None:
        assert "n" not in seen  # 1 is the only value: nothing to send

    def max_tokens(seen: dict[str, Any], _: httpx.Response) -> None:
        assert seen["max_tokens"] == 50 and "max_completion_tokens" not in seen

    def max_completion_tokens(seen: dict[str, Any], _: httpx.Response) -> None:
        assert seen["max_completion_tokens"] == 50 and "max_tokens" not in seen

    def stream(seen: dict[str, Any], response: httpx.Response) -> None:
        assert seen["stream"] is True
        _streamed(seen, response)

    def tool_choice(seen: dict[str, Any], response: httpx.Response) -> None:
        assert seen["tool_choice"] == "none" and seen["tools"][0]["function"]["name"]
        assert "tool_calls" not in _message(response)

    def tools(seen: dict[str, Any], _: httpx.Response) -> None:
        assert seen["tools"][0]["function"]["name"] == "get_weather"

    def reasoning_effort(seen: dict[str, Any], response: httpx.Response) -> None:
        assert seen["reasoning_effort"] == "low"
        assert _message(response)["reasoning_content"]
        details = response.json()["usage"]["completion_tokens_details"]
        assert details["reasoning_tokens"] > 0

    def response_format(seen: dict[str, Any], _: httpx.Response) -> None:
        assert seen["response_format"] == {"type": "json_object"}

    return {
        "n": n,
        "max_tokens": max_tokens,
        "max_completion_tokens": max_completion_tokens,
        "stream": stream,
        "stream_options": _usage_chunk,
        "tool_choice": tool_choice,
        "tools": tools,
        "reasoning_effort": reasoning_effort,
        "response_format": response_format,
        "stop": seen_as("stop", ["zzz"]),
    }


def _bedrock_checks() -> dict[str, Check]:
    def inference(key: str, value: Any) -> Check:
        def check(seen: dict[str, Any], response: httpx.Response) -> None:
            assert seen["inferenceConfig"][key] == value, seen.get("inferenceConfig")

        return check

    def top(key: str, value: Any) -> Check:
        def check(seen: dict[str, Any], _: httpx.Response) -> None:
            assert seen[key] == value, (key, seen.get(key))

        return check

    def not_sent(value: str) -> Check:
        def check(seen: dict[str, Any], response: httpx.Response) -> None:
            assert response.status_code == 200, response.text
            assert value not in json.dumps(seen)  # written to the gateway log only

        return check

    def ok(seen: dict[str, Any], response: httpx.Response) -> None:
        assert response.status_code == 200, response.text

    def tool_choice(seen: dict[str, Any], response: httpx.Response) -> None:
        assert "toolConfig" not in seen  # Converse has no "none": no tools at all
        assert "tool_calls" not in _message(response)

    def tools(seen: dict[str, Any], _: httpx.Response) -> None:
        assert seen["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_weather"

    def parallel_tool_calls(seen: dict[str, Any], _: httpx.Response) -> None:
        choice = seen["additionalModelRequestFields"]["tool_choice"]
        assert choice == {"type": "auto", "disable_parallel_tool_use": True}

    def response_format(seen: dict[str, Any], response: httpx.Response) -> None:
        assert "toolConfig" in seen or "outputConfig" in seen  # structured output's business
        assert response.status_code == 200, response.text

    return {
        "max_tokens": inference("maxTokens", 50),
        "max_completion_tokens": inference("maxTokens", 50),
        "temperature": inference("temperature", 0.3),
        "top_p": inference("topP", 0.9),
        "stop": inference("stopSequences", ["zzz"]),
        "metadata": top("requestMetadata", {"team": "search"}),
        "service_tier": top("serviceTier", {"type": "flex"}),
        "user": not_sent("end-user-1"),
        "safety_identifier": not_sent("hash-of-user-1"),
        "n": ok,
        "stream": _streamed,
        "stream_options": _usage_chunk,
        "tool_choice": tool_choice,
        "tools": tools,
        "parallel_tool_calls": parallel_tool_calls,
        "response_format": response_format,
    }


def test_the_table_covers_every_field_of_the_openai_sdk() -> None:
    """The installed openai SDK's `chat.completions.create` fields are the reference list."""
    sdk = set(get_type_hints(CompletionCreateParamsBase)) | {"stream"}  # stream: subclasses
    assert sdk == set(BY_NAME), (sorted(sdk - set(BY_NAME)), sorted(set(BY_NAME) - sdk))
    assert set(SAMPLES) == set(BY_NAME) - {"messages", "model"}


def test_the_doc_shows_the_table() -> None:
    text = (ROOT / "docs" / "gateway.md").read_text(encoding="utf-8")
    section = re.search(r"^## Request fields\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert section is not None, "docs/gateway.md has no 'Request fields' section"
    table = [line for line in section.group(1).splitlines() if line.startswith("|")]
    tables = f"{markdown_table()}\n{nested_markdown_table()}".splitlines()
    assert table == tables


async def test_every_field_on_both_kinds_of_route(
    session: AsyncSession, db_url: str, fresh_sim: SimServer
) -> None:
    key = await _world(session, fresh_sim)
    openai_checks, bedrock_checks = _openai_checks(), _bedrock_checks()
    with (
        AppServer(db_url) as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as client,
    ):
        for spec in FIELDS:
            if spec.name in ("messages", "model"):
                continue  # every request has them
            value = SAMPLES[spec.name]
            # OpenAI-compatible: refused, or in the body the simulator received.
            model = THINKER if spec.name in ("reasoning_effort", "max_completion_tokens") else PLAIN
            response = _post(client, _request(model, spec.name, value))
            if spec.openai.kind is Kind.REFUSE:
                _refused(response, spec.name)
            else:
                assert response.status_code == 200, (spec.name, response.text)
                seen = fresh_sim.last_request("plainco")
                default: Check = lambda seen, _: None  # noqa: E731
                if spec.parsed:
                    openai_checks.get(spec.name, default)(seen, response)
                else:
                    assert seen[spec.name] == value, (spec.name, seen.get(spec.name))
            # Bedrock: refused (but for the values that ask for nothing), or mapped.
            model = THINKING_CLAUDE if spec.name == "reasoning_effort" else CLAUDE
            response = _post(client, _request(model, spec.name, value))
            if Kind.REFUSE in (spec.openai.kind, spec.bedrock.kind):
                _refused(response, spec.name)
                for accepted in spec.bedrock_accepts:
                    ok = _post(client, _request(model, spec.name, accepted))
                    assert ok.status_code == 200, (spec.name, accepted, ok.text)
                continue
            assert response.status_code == 200, (spec.name, response.text)
            seen = fresh_sim.last_request(REGION)
            if spec.name == "reasoning_effort":
                thinking = seen["additionalModelRequestFields"]["thinking"]
                assert thinking == {"type": "enabled", "budget_tokens": 2048}
                assert _message(response)["reasoning_content"]
                # A Claude without extended thinking: refused by name, nothing sent.
                _refused(_post(client, _request(CLAUDE, "reasoning_effort", "low")), spec.name)
            else:
                bedrock_checks[spec.name](seen, response)

        # parallel_tool_calls false is mapped for Claude only, and not beside a forced tool.
        nova = _post(client, _request("tiny-bedrock", "parallel_tool_calls", False))
        _refused(nova, "parallel_tool_calls")
        forced = {**_request(CLAUDE, "parallel_tool_calls", False), "tool_choice": "required"}
        _refused(_post(client, forced), "parallel_tool_calls")
        # Not in the table: refused by name on both; a passed field of the wrong type too.
        for model in (PLAIN, CLAUDE):
            unknown = _post(client, _request(model, "top_k", 5))
            _refused(unknown, "top_k")
            assert unknown.json()["error"]["code"] == "unknown_parameter"
            _refused(_post(client, _request(model, "seed", "7")), "seed")
        # A field Bedrock refuses sends a model with both kinds of route to the other kind.
        cheap = _post(client, _request(MIXED, "messages", [{"role": "user", "content": "hi"}]))
        assert cheap.headers["x-myia-provider"] == "bedrock"
        seeded = _post(client, _request(MIXED, "seed", 7))
        assert seeded.status_code == 200 and seeded.headers["x-myia-provider"] == "plainco"
        assert fresh_sim.last_request("plainco")["seed"] == 7


async def test_tools_reasoning_caching_and_errors(
    session: AsyncSession, db_url: str, fresh_sim: SimServer
) -> None:
    key = await _world(session, fresh_sim)
    history = [
        {"role": "user", "content": "What is the weather in Lisbon?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Lisbon"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "22 C and sunny"},
    ]
    with (
        AppServer(db_url) as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as client,
    ):
        # A tool history without `tools` on Bedrock: specs by name (Converse needs them).
        answer = _message(_post(client, {"model": CLAUDE, "messages": history}))
        assert "22 C" in answer["content"]
        seen = fresh_sim.last_request(REGION)
        assert [t["toolSpec"]["name"] for t in seen["toolConfig"]["tools"]] == ["get_weather"]
        # ... and with tool_choice none, no toolConfig: the history goes as text.
        body = {"model": CLAUDE, "messages": history, "tools": [WEATHER], "tool_choice": "none"}
        assert "tool_calls" not in _message(_post(client, body))
        seen = fresh_sim.last_request(REGION)
        assert "toolConfig" not in seen
        assert "toolUse" not in json.dumps(seen["messages"])

        # Tool-call deltas carry their index, on both kinds of route.
        for model in (PLAIN, CLAUDE):
            chunks = _sse(
                _post(
                    client,
                    {
                        "model": model,
                        "messages": [{"role": "user", "content": "Weather in Lisbon?"}],
                        "tools": [WEATHER],
                        "tool_choice": "required",
                        "stream": True,
                    },
                )
            )
            calls = _tool_deltas(chunks)
            assert calls and all(call["index"] == 0 for call in calls), calls
            assert calls[0]["function"]["name"] == "get_weather"

        # Reasoning streamed as reasoning_content deltas, on both kinds of route.
        for model, extra in ((THINKER, {"max_completion_tokens": 400}), (THINKING_CLAUDE, {})):
            chunks = _sse(
                _post(
                    client,
                    {
                        "model": model,
                        "messages": [{"role": "user", "content": "What is 12 + 30?"}],
                        "reasoning_effort": "medium",
                        "stream": True,
                        **extra,
                    },
                )
            )
            deltas = [ch["choices"][0]["delta"] for ch in chunks if ch["choices"]]
            assert "".join(d.get("reasoning_content", "") for d in deltas), model
            assert "42" in "".join(d.get("content") or "" for d in deltas), model

        # Prompt caching: cache_control -> a Bedrock cache point; the second call reads it.
        system = {"role": "system", "content": [
            {"type": "text", "text": "You are terse. " * 40, "cache_control": {"type": "ephemeral"}}
        ]}  # fmt: skip
        cached_body = {"model": CLAUDE, "messages": [system, {"role": "user", "content": "Hi"}]}
        first = _post(client, cached_body)
        assert first.status_code == 200, first.text
        assert fresh_sim.last_request(REGION)["system"][-1] == {"cachePoint": {"type": "default"}}
        second = _post(client, cached_body).json()["usage"]
        assert second["prompt_tokens_details"]["cached_tokens"] > 0
        assert second["prompt_tokens"] > second["prompt_tokens_details"]["cached_tokens"]
        # ... passed to OpenAI-compatible upstreams as it came.
        assert _post(client, {**cached_body, "model": PLAIN}).status_code == 200
        sent = fresh_sim.last_request("plainco")["messages"][0]["content"][0]
        assert sent["cache_control"] == {"type": "ephemeral"}

        # An upstream's refusal keeps its code and param (OpenAI's reasoning models refuse
        # max_tokens; a plain model refuses reasoning_effort).
        refusing = ((THINKER, "max_tokens", 50), (PLAIN, "reasoning_effort", "low"))
        for model, field, value in refusing:
            refused = _post(client, _request(model, field, value))
            _refused(refused, field)
            assert refused.json()["error"]["code"] == "unsupported_parameter"
        # A prompt over the context window: 400 context_length_exceeded from either kind.
        long_prompt = [{"role": "user", "content": "Tell me about tides. " * 40}]
        for model in ("tiny-bedrock", "tiny-chat"):
            over = _post(client, {"model": model, "messages": long_prompt})
            _refused(over, "messages")
            assert over.json()["error"]["code"] == "context_length_exceeded"
        # An answer that fills Bedrock's window stops with finish_reason length.
        counting = [{"role": "user", "content": "Count from 1 to 400."}]
        full = _post(client, {"model": "tiny-bedrock", "messages": counting}).json()
        assert full["choices"][0]["finish_reason"] == "length", full
