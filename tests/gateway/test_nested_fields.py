"""The nested part of the request-field table (`myia.gateway.fields.SHAPES`) walked through
`myia`'s app to the simulator, on an OpenAI-compatible and a Bedrock route.

Every key of every kind of nested object: refused ones answer 400 naming their full path,
passed ones reach the simulator as sent, the response-only keys clients send back are
accepted (and not sent on), and a key the table lacks is 400 `unknown_parameter` by path.
The gateway's call-log rows carry the client's `user` / `safety_identifier` as `end_user`.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from typing import Any, get_type_hints

import httpx
from openai.types import chat as sdk
from openai.types.chat import (
    chat_completion_content_part_image_param as image_param,
)
from openai.types.chat import (
    chat_completion_content_part_param as part_param,
)
from openai.types.chat import (
    chat_completion_message_function_tool_call_param as call_param,
)
from openai.types.chat import (
    chat_completion_named_tool_choice_param as choice_param,
)
from openai.types.shared_params import FunctionDefinition
from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification.images import solid_png
from myia.gateway.fields import (
    IMAGE_URL,
    MESSAGE_SHAPES,
    PART_SHAPES,
    SHAPES,
    STREAM_OPTIONS,
    TOOL,
    TOOL_CALL,
    TOOL_CALL_FUNCTION,
    TOOL_CHOICE,
    TOOL_CHOICE_FUNCTION,
    TOOL_FUNCTION,
    Kind,
    Shape,
)
from myia.sim import SimServer
from tests.gateway.conftest import call_logs
from tests.gateway.test_field_table import (
    CLAUDE,
    MIXED,
    PLAIN,
    REGION,
    WEATHER,
    _message,
    _post,
    _refused,
    _world,
    scenario,  # noqa: F401 -- the module's simulator scenario (fields.yaml)
)
from tests.sim_support import AppServer

PNG = "data:image/png;base64," + base64.b64encode(solid_png((200, 30, 30))).decode()
CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Lisbon"}'},
}
# Keys the gateway's table has beyond the SDK's request TypedDicts, and why.
EXTRAS = {
    (MESSAGE_SHAPES["assistant"].path, "annotations"),  # response-only, sent back
    (MESSAGE_SHAPES["assistant"].path, "reasoning_content"),  # the gateway's own answers
    (MESSAGE_SHAPES["tool"].path, "name"),  # LangChain's ToolMessage
    (PART_SHAPES["text"].path, "cache_control"),  # Anthropic's prompt caching
    (PART_SHAPES["image_url"].path, "cache_control"),
    (TOOL_CALL.path, "custom"),  # the custom tool call's key, on the same object
    (TOOL.path, "custom"),
    (TOOL_CHOICE.path, "allowed_tools"),  # the other tool_choice objects' keys
    (TOOL_CHOICE.path, "custom"),
}
# A value for each key the table refuses (one that is not accepted anywhere).
REFUSED = {
    "name": "alice",
    "audio": {"id": "audio_1"},
    "function_call": {"name": "get_weather", "arguments": "{}"},
    "prompt_cache_breakpoint": {"mode": "explicit"},
    "custom": {"name": "grep", "input": "x"},
    "allowed_tools": {"mode": "auto", "tools": [WEATHER]},
    "include_obfuscation": True,
    "detail": "low",
    "strict": True,
}
# Objects refused by a key they cannot do without.
REFUSED_BY = {
    MESSAGE_SHAPES["function"].path: "role",
    PART_SHAPES["input_audio"].path: "input_audio",
    PART_SHAPES["file"].path: "file",
}
Build = Callable[[dict[str, Any]], dict[str, Any]]


def _first(extra: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` with `extra`'s keys first: the key under test is the first the gateway reads."""
    return {**extra, **{k: v for k, v in obj.items() if k not in extra}}


def _ask(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return _first(extra or {}, {"role": "user", "content": "What is 12 + 30?"})


def _history(
    call: dict[str, Any] | None = None,
    assistant: dict[str, Any] | None = None,
    tool: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """A tool round trip: question, the assistant's tool call, its result."""
    said = {"role": "assistant", "content": None, "tool_calls": [call or copy.deepcopy(CALL)]}
    answered = {"role": "tool", "tool_call_id": "call_1", "content": "22 C and sunny"}
    return [
        {"role": "user", "content": "What is the weather in Lisbon?"},
        _first(assistant or {}, said),
        _first(tool or {}, answered),
    ]


def _parts(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": [*parts]}]}


def _text(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return _first(extra or {}, {"type": "text", "text": "What colour is this?"})


def _image(part: dict[str, Any] | None = None, url: dict[str, Any] | None = None) -> dict[str, Any]:
    image_url = _first(url or {}, {"url": PNG})
    return _first(part or {}, {"type": "image_url", "image_url": image_url})


def _tool(tool: dict[str, Any] | None = None, function: dict[str, Any] | None = None) -> Any:
    return _first(
        tool or {}, {"type": "function", "function": _first(function or {}, WEATHER["function"])}
    )


def _choice(choice: dict[str, Any] | None = None, function: dict[str, Any] | None = None) -> Any:
    named = _first(function or {}, {"name": "get_weather"})
    return {
        "tools": [WEATHER],
        "tool_choice": _first(choice or {}, {"type": "function", "function": named}),
    }


def _carriers() -> dict[str, tuple[str, Build]]:
    """For each shape: where its object sits, and a request with `extra` keys put in it."""
    refusing = {"role": "assistant", "content": "I can't help with that."}
    carriers: dict[str, tuple[str, Build]] = {
        MESSAGE_SHAPES["user"].path: ("messages[0]", lambda x: {"messages": [_ask(x)]}),
        MESSAGE_SHAPES["assistant"].path: (
            "messages[1]",
            lambda x: {"messages": [_ask(), _first(x, refusing), _ask()]},
        ),
        MESSAGE_SHAPES["tool"].path: (
            "messages[2]",
            lambda x: {"messages": _history(tool=x), "tools": [WEATHER]},
        ),
        MESSAGE_SHAPES["function"].path: (
            "messages[1]",
            lambda x: {
                "messages": [_ask(), _first(x, {"role": "function", "name": "f", "content": "1"})]
            },
        ),
        PART_SHAPES["text"].path: ("messages[0].content[0]", lambda x: _parts(_text(x))),
        PART_SHAPES["image_url"].path: (
            "messages[0].content[1]",
            lambda x: _parts(_text(), _image(part=x)),
        ),
        PART_SHAPES["refusal"].path: (
            "messages[1].content[0]",
            lambda x: {
                "messages": [
                    _ask(),
                    {
                        "role": "assistant",
                        "content": [_first(x, {"type": "refusal", "refusal": "I can't."})],
                    },
                    _ask(),
                ]
            },
        ),
        PART_SHAPES["input_audio"].path: (
            "messages[0].content[1]",
            lambda x: _parts(
                _text(),
                _first(
                    x, {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
                ),
            ),
        ),
        PART_SHAPES["file"].path: (
            "messages[0].content[1]",
            lambda x: _parts(
                _text(),
                _first(x, {"type": "file", "file": {"file_data": "AAAA", "filename": "a.pdf"}}),
            ),
        ),
        IMAGE_URL.path: (
            "messages[0].content[1].image_url",
            lambda x: _parts(_text(), _image(url=x)),
        ),
        TOOL_CALL.path: (
            "messages[1].tool_calls[0]",
            lambda x: {"messages": _history(call=_first(x, CALL)), "tools": [WEATHER]},
        ),
        TOOL_CALL_FUNCTION.path: (
            "messages[1].tool_calls[0].function",
            lambda x: {
                "messages": _history(call={**CALL, "function": _first(x, CALL["function"])}),
                "tools": [WEATHER],
            },
        ),
        TOOL.path: ("tools[0]", lambda x: {"messages": [_ask()], "tools": [_tool(tool=x)]}),
        TOOL_FUNCTION.path: (
            "tools[0].function",
            lambda x: {"messages": [_ask()], "tools": [_tool(function=x)]},
        ),
        TOOL_CHOICE.path: ("tool_choice", lambda x: {"messages": [_ask()], **_choice(choice=x)}),
        TOOL_CHOICE_FUNCTION.path: (
            "tool_choice.function",
            lambda x: {"messages": [_ask()], **_choice(function=x)},
        ),
        STREAM_OPTIONS.path: (
            "stream_options",
            lambda x: {
                "messages": [_ask()],
                "stream": True,
                "stream_options": _first(x, {"include_usage": True}),
            },
        ),
    }
    for role in ("system", "developer"):
        carriers[MESSAGE_SHAPES[role].path] = (
            "messages[0]",
            lambda x, role=role: {
                "messages": [_first(x, {"role": role, "content": "Be terse."}), _ask()]
            },
        )
    return carriers


def _sdk_keys(typed_dict: Any) -> set[str]:
    return set(get_type_hints(typed_dict))


def test_the_nested_table_covers_the_openai_sdk() -> None:
    """The installed openai SDK's request TypedDicts are the reference list, key by key."""
    reference: dict[Shape, set[str]] = {
        MESSAGE_SHAPES["system"]: _sdk_keys(sdk.ChatCompletionSystemMessageParam),
        MESSAGE_SHAPES["developer"]: _sdk_keys(sdk.ChatCompletionDeveloperMessageParam),
        MESSAGE_SHAPES["user"]: _sdk_keys(sdk.ChatCompletionUserMessageParam),
        MESSAGE_SHAPES["assistant"]: _sdk_keys(sdk.ChatCompletionAssistantMessageParam),
        MESSAGE_SHAPES["tool"]: _sdk_keys(sdk.ChatCompletionToolMessageParam),
        MESSAGE_SHAPES["function"]: _sdk_keys(sdk.ChatCompletionFunctionMessageParam),
        PART_SHAPES["text"]: _sdk_keys(sdk.ChatCompletionContentPartTextParam),
        PART_SHAPES["image_url"]: _sdk_keys(sdk.ChatCompletionContentPartImageParam),
        PART_SHAPES["refusal"]: _sdk_keys(sdk.ChatCompletionContentPartRefusalParam),
        PART_SHAPES["input_audio"]: _sdk_keys(sdk.ChatCompletionContentPartInputAudioParam),
        PART_SHAPES["file"]: _sdk_keys(part_param.File),
        IMAGE_URL: _sdk_keys(image_param.ImageURL),
        TOOL_CALL: _sdk_keys(sdk.ChatCompletionMessageFunctionToolCallParam),
        TOOL_CALL_FUNCTION: _sdk_keys(call_param.Function),
        TOOL: _sdk_keys(sdk.ChatCompletionFunctionToolParam),
        TOOL_FUNCTION: _sdk_keys(FunctionDefinition),
        TOOL_CHOICE: _sdk_keys(sdk.ChatCompletionNamedToolChoiceParam),
        TOOL_CHOICE_FUNCTION: _sdk_keys(choice_param.Function),
        STREAM_OPTIONS: _sdk_keys(sdk.ChatCompletionStreamOptionsParam),
    }
    assert set(reference) == set(SHAPES)
    for shape, keys in reference.items():
        ours = set(shape.by_name)
        assert keys <= ours, (shape.path, sorted(keys - ours))
        extra = {(shape.path, key) for key in ours - keys}
        assert extra <= EXTRAS, (shape.path, sorted(extra - EXTRAS))
    # The keys of the SDK's other variants that the table names are real SDK keys.
    assert "custom" in _sdk_keys(sdk.ChatCompletionMessageCustomToolCallParam)
    assert "custom" in _sdk_keys(sdk.ChatCompletionCustomToolParam)
    assert "allowed_tools" in _sdk_keys(sdk.ChatCompletionAllowedToolChoiceParam)
    assert "custom" in _sdk_keys(sdk.ChatCompletionNamedToolChoiceCustomParam)


def _at(seen: Any, path: str) -> Any:
    """The value at an OpenAI-style path (`messages[0].content[1].image_url`) of a body."""
    for step in path.replace("[", ".[").split("."):
        seen = seen[int(step[1:-1])] if step.startswith("[") else seen[step]
    return seen


def _walk_shape(
    post: Callable[[str, Build, dict[str, Any]], httpx.Response],
    sim: SimServer,
    shape: Shape,
    where: str,
    build: Build,
) -> None:
    """One shape's keys: the refused ones 400 by path (on both kinds of route, or on Bedrock
    only, where a model with both kinds goes to the other), the passed ones as sent."""
    for spec in shape.fields:
        param = f"{where}.{spec.name}"
        if spec.openai.kind is Kind.REFUSE:
            essential = REFUSED_BY.get(shape.path) == spec.name
            value = _at(build({}), param) if essential else REFUSED[spec.name]
            for model in (PLAIN, CLAUDE):
                refused = post(model, build, {spec.name: value})
                _refused(refused, param)
                assert refused.json()["error"]["code"] == "unsupported_parameter"
            # null is "not set"; and the values that ask for nothing pass (in an object
            # the gateway takes at all).
            for ok in () if shape.path in REFUSED_BY else (None, *spec.accepts):
                for model in (PLAIN, CLAUDE):
                    fine = post(model, build, {spec.name: ok})
                    assert fine.status_code == 200, (param, ok, model, fine.text)
        elif spec.bedrock.kind is Kind.REFUSE:
            value = REFUSED[spec.name]
            sent = post(PLAIN, build, {spec.name: value})
            assert sent.status_code == 200, (param, sent.text)
            assert _at(sim.last_request("plainco"), param) == value
            _refused(post(CLAUDE, build, {spec.name: value}), param)
            for ok in spec.bedrock_accepts:
                fine = post(CLAUDE, build, {spec.name: ok})
                assert fine.status_code == 200, (param, ok, fine.text)
            routed = post(MIXED, build, {spec.name: value})
            assert routed.status_code == 200, (param, routed.text)
            assert routed.headers["x-myia-provider"] == "plainco"


async def test_every_nested_key_on_both_kinds_of_route(
    session: AsyncSession, db_url: str, fresh_sim: SimServer
) -> None:
    key = await _world(session, fresh_sim)
    carriers = _carriers()
    assert set(carriers) == {shape.path for shape in SHAPES}
    with (
        AppServer(db_url) as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as client,
    ):

        def post(model: str, build: Build, extra: dict[str, Any]) -> httpx.Response:
            return _post(client, {"model": model, **build(extra)})

        for shape in SHAPES:
            where, build = carriers[shape.path]
            # Each carrier is a request the gateway answers, on both kinds of route, but for
            # the objects refused by a key they cannot do without (a function message's role).
            for model in (PLAIN, CLAUDE):
                plain = post(model, build, {})
                if shape.path in REFUSED_BY:
                    _refused(plain, f"{where}.{REFUSED_BY[shape.path]}")
                else:
                    assert plain.status_code == 200, (shape.path, model, plain.text)
            # A key the table lacks: 400 unknown_parameter by its full path.
            unknown = post(PLAIN, build, {"colour": "red"})
            _refused(unknown, f"{where}.colour")
            assert unknown.json()["error"]["code"] == "unknown_parameter"
            _walk_shape(post, fresh_sim, shape, where, build)


async def test_answers_sent_back_as_they_came(
    session: AsyncSession, db_url: str, fresh_sim: SimServer
) -> None:
    """An assistant message as the SDK returns it (null and empty response-only keys), a
    refusal, reasoning and citations sent back: accepted, and sent on as the table says."""
    key = await _world(session, fresh_sim)
    echoed = {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "annotations": [],
        "audio": None,
        "function_call": None,
        "tool_calls": [CALL],
        "reasoning_content": "SECRET-REASONING the user wants the weather",
    }
    tool = {"role": "tool", "tool_call_id": "call_1", "content": "22 C", "name": "get_weather"}
    cited = {
        "role": "assistant",
        "content": "Lisbon is sunny.",
        "annotations": [{"type": "url_citation", "url_citation": {"url": "https://x.test/CITED"}}],
    }
    refused = {"role": "assistant", "content": None, "refusal": "REFUSED-WORDS: I cannot."}
    messages = [
        {"role": "user", "content": "Weather in Lisbon?"},
        echoed,
        tool,
        cited,
        {"role": "user", "content": "Tell me a secret."},
        refused,
        {"role": "user", "content": "Then what is 12 + 30?"},
    ]
    with (
        AppServer(db_url) as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as client,
    ):
        for model, upstream in ((PLAIN, "plainco"), (CLAUDE, REGION)):
            body = {"model": model, "messages": messages, "tools": [WEATHER]}
            assert _message(_post(client, body))["content"], model
            sent = json.dumps(fresh_sim.last_request(upstream))
            assert "REFUSED-WORDS" in sent, model  # the refusal is the turn's text
            for kept_back in ("SECRET-REASONING", "CITED", '"annotations"', '"audio"'):
                assert kept_back not in sent, (model, kept_back)


async def test_end_user_is_stored_on_the_call_row(
    session: AsyncSession, db_url: str, fresh_sim: SimServer
) -> None:
    """`user` (else `safety_identifier`) lands on each call's row as `end_user`, cut to 256."""
    key = await _world(session, fresh_sim)
    question = [{"role": "user", "content": "What is 12 + 30?"}]
    with (
        AppServer(db_url) as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as client,
    ):
        sent = [
            {"model": PLAIN, "messages": question, "user": "end-user-1"},
            {"model": CLAUDE, "messages": question, "safety_identifier": "hash-2"},
            {"model": PLAIN, "messages": question, "user": "u" * 300, "safety_identifier": "s"},
            {"model": CLAUDE, "messages": question},
        ]
        for body in sent:
            assert _post(client, body).status_code == 200, body
    rows = await call_logs(db_url, count=len(sent))
    assert [row.end_user for row in rows] == ["end-user-1", "hash-2", "u" * 256, None]
