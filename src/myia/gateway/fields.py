"""Every Chat Completions request field, and what the gateway does with it per upstream kind.

One table, rendered in docs/gateway.md ("Request fields") and walked by
tests/gateway/test_field_table.py: for each field OpenAI documents, on an OpenAI-compatible
upstream and on Bedrock, it is passed as sent (`pass`), mapped (`map`, to what), or refused
with a 400 naming it (`refuse`, and why). A top-level field not in the table is refused too:
a misspelt or newer option must fail loudly rather than vanish.

The same rule holds inside the request (`SHAPES`): each kind of nested object (a message of
each role, a content part of each type, a tool call, a tool, a tool_choice object,
stream_options) lists the keys it may carry, each passed, mapped or refused per upstream;
any other key is refused by its full path (`messages[2].name`). Keys of OpenAI's answers that
clients send back as they came (an assistant message's `refusal`, `audio`, `function_call`
as null, `annotations`) are accepted there, as the table says.

`screen` applies it to one request's top-level fields, `check` to one nested object: one
dict lookup per key sent, and a dict allocated only when a field goes through as is.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from myia.gateway.errors import GatewayError, invalid


class Kind(enum.StrEnum):
    PASS = "pass"
    MAP = "map"
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True)
class Rule:
    kind: Kind
    note: str = ""  # MAP: to what; REFUSE: why; PASS: a remark, if any

    def cell(self) -> str:
        return f"{self.kind.value}: {self.note}" if self.note else self.kind.value


def _pass(note: str = "") -> Rule:
    return Rule(Kind.PASS, note)


def _map(note: str) -> Rule:
    return Rule(Kind.MAP, note)


def _refuse(note: str) -> Rule:
    return Rule(Kind.REFUSE, note)


def _integer(value: Any) -> bool:
    return type(value) is int


def _number(value: Any) -> bool:
    return type(value) is int or type(value) is float


def _boolean(value: Any) -> bool:
    return type(value) is bool


def _string(value: Any) -> bool:
    return type(value) is str


def _object(value: Any) -> bool:
    return type(value) is dict


def _array(value: Any) -> bool:
    return type(value) is list


def _string_or_array(value: Any) -> bool:
    return type(value) is str or type(value) is list


def _string_or_object(value: Any) -> bool:
    return type(value) is str or type(value) is dict


_TYPES: dict[str, Callable[[Any], bool]] = {
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "string": _string,
    "object": _object,
    "array": _array,
    "string or array": _string_or_array,
    "string or object": _string_or_object,
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    type: str  # the JSON type OpenAI documents; checked for the fields sent as they are
    openai: Rule
    bedrock: Rule
    # True: `wire_in.parse_request` reads it into a typed `ChatRequest` field and applies the
    # rules above itself. False: the table alone decides (pass it as is, or refuse it).
    parsed: bool = False
    # Values that ask for nothing beyond the default: accepted on Bedrock although the rule
    # refuses the field (`"logprobs": false`, `"store": false`).
    bedrock_accepts: tuple[Any, ...] = ()
    # The same on both kinds of upstream (`"include_obfuscation": false`, `"annotations": []`).
    accepts: tuple[Any, ...] = ()


_NO_PENALTIES = "Converse's inferenceConfig has no penalties"
_OPENAI_ONLY = "an OpenAI feature Converse does not offer"

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("messages", "array", _map("messages (roles, parts, tool calls as OpenAI sends them)"),
              _map("Converse messages and system; same-role turns merged"), parsed=True),
    FieldSpec("model", "string", _map("the route's deployment id"),
              _map("the route's model or inference-profile id"), parsed=True),
    FieldSpec("audio", "object", _refuse("audio output is not offered by the gateway"),
              _refuse("audio output is not offered by the gateway")),
    FieldSpec("frequency_penalty", "number", _pass(), _refuse(_NO_PENALTIES)),
    FieldSpec("function_call", "string or object", _refuse("deprecated by OpenAI: use tool_choice"),
              _refuse("deprecated by OpenAI: use tool_choice")),
    FieldSpec("functions", "array", _refuse("deprecated by OpenAI: use tools"),
              _refuse("deprecated by OpenAI: use tools")),
    FieldSpec("logit_bias", "object", _pass(), _refuse("Converse has no token biases")),
    FieldSpec("logprobs", "boolean", _pass("returned in choices[].logprobs"),
              _refuse("Converse returns no log probabilities"), bedrock_accepts=(False,)),
    FieldSpec("max_completion_tokens", "integer", _pass("sent as max_completion_tokens"),
              _map("inferenceConfig.maxTokens"), parsed=True),
    FieldSpec("max_tokens", "integer", _pass("sent as max_tokens"),
              _map("inferenceConfig.maxTokens"), parsed=True),
    FieldSpec("metadata", "object", _pass("at most 16 string pairs"),
              _map("requestMetadata (invocation-log filters)"), parsed=True),
    FieldSpec("modalities", "array", _pass(), _refuse("Converse answers text only"),
              bedrock_accepts=(["text"],)),
    FieldSpec("moderation", "object", _pass(), _refuse(_OPENAI_ONLY)),
    FieldSpec("n", "integer", _map("1 only (one choice per request); other values refused"),
              _map("1 only (one choice per request); other values refused"), parsed=True),
    FieldSpec("parallel_tool_calls", "boolean", _pass(),
              _map("false on Claude: additionalModelRequestFields.tool_choice "
                   "{type: auto, disable_parallel_tool_use: true}; refused on other models and "
                   "beside a forced tool; true: nothing to send"), parsed=True),
    FieldSpec("prediction", "object", _pass(), _refuse(_OPENAI_ONLY)),
    FieldSpec("presence_penalty", "number", _pass(), _refuse(_NO_PENALTIES)),
    FieldSpec("prompt_cache_key", "string", _pass(),
              _refuse("Bedrock caches at cache points: put cache_control on content parts")),
    FieldSpec("prompt_cache_options", "object", _pass(),
              _refuse("Bedrock caches at cache points: put cache_control on content parts")),
    FieldSpec("prompt_cache_retention", "string", _pass(),
              _refuse("Bedrock caches at cache points: put cache_control on content parts")),
    FieldSpec("reasoning_effort", "string", _pass(),
              _map("extended thinking (additionalModelRequestFields.thinking, a token budget "
                   "per level) on models that have it; refused on the others; none: nothing"),
              parsed=True),
    FieldSpec("response_format", "object", _map("structured output (see Structured output)"),
              _map("structured output (see Structured output)"), parsed=True),
    FieldSpec("safety_identifier", "string", _pass("also stored as the call's end_user"),
              _map("stored as the call's end_user; Converse has no end-user field")),
    FieldSpec("seed", "integer", _pass(), _refuse("Converse has no sampling seed")),
    FieldSpec("service_tier", "string", _pass(),
              _map("serviceTier (default, flex, priority; auto: omitted; others refused)"),
              parsed=True),
    FieldSpec("stop", "string or array", _pass("as a list"),
              _map("inferenceConfig.stopSequences"), parsed=True),
    FieldSpec("store", "boolean", _pass(), _refuse("Bedrock stores no completions"),
              bedrock_accepts=(False,)),
    FieldSpec("stream", "boolean", _map("the gateway streams (SSE) what the upstream streams"),
              _map("ConverseStream, re-framed as SSE chunks"), parsed=True),
    FieldSpec("stream_options", "object", _map("include_usage: a last chunk with usage"),
              _map("include_usage: a last chunk with usage"), parsed=True),
    FieldSpec("temperature", "number", _pass(), _map("inferenceConfig.temperature"),
              parsed=True),
    FieldSpec("tool_choice", "string or object", _pass("none, auto, required or a function"),
              _map("toolConfig.toolChoice (required: any); none: no toolConfig, tool history "
                   "sent as text"), parsed=True),
    FieldSpec("tools", "array", _pass("function tools"),
              _map("toolConfig.tools; a tool history without tools gets specs by name"),
              parsed=True),
    FieldSpec("top_logprobs", "integer", _pass("returned in choices[].logprobs"),
              _refuse("Converse returns no log probabilities"), bedrock_accepts=(0,)),
    FieldSpec("top_p", "number", _pass(), _map("inferenceConfig.topP"), parsed=True),
    FieldSpec("user", "string", _pass("also stored as the call's end_user"),
              _map("stored as the call's end_user; Converse has no end-user field")),
    FieldSpec("verbosity", "string", _pass(), _refuse(_OPENAI_ONLY)),
    FieldSpec("web_search_options", "object", _pass(), _refuse(_OPENAI_ONLY)),
)  # fmt: skip

BY_NAME: dict[str, FieldSpec] = {spec.name: spec for spec in FIELDS}
UNKNOWN_RULE = "refuse: not a Chat Completions field (400 naming it)"
# Fields the gateway also stores on the call's row (`api_call_logs.end_user`, admins only):
# who the end user is, as the client says; `user` when both are sent.
RECORDED = ("user", "safety_identifier")


@dataclass(frozen=True, slots=True, eq=False)  # one of each: compared by identity
class Shape:
    """One kind of nested object and the keys it may carry (`check` refuses any other)."""

    path: str  # how docs/gateway.md names it: "messages[] (assistant)"
    fields: tuple[FieldSpec, ...]
    by_name: dict[str, FieldSpec]
    # The keys no upstream refuses: an object carrying only these passes in one set test.
    plain: frozenset[str]


def _shape(path: str, *fields: FieldSpec) -> Shape:
    plain = frozenset(
        spec.name for spec in fields if Kind.REFUSE not in (spec.openai.kind, spec.bedrock.kind)
    )
    return Shape(path, fields, {spec.name: spec for spec in fields}, plain)


def _both(kind: Callable[[str], Rule], note: str) -> tuple[Rule, Rule]:
    return kind(note), kind(note)


def _read(name: str, type_: str, openai: str, bedrock: str | None = None) -> FieldSpec:
    """A key the gateway reads and maps (`bedrock`: Bedrock's mapping, when it differs)."""
    return FieldSpec(name, type_, _map(openai), _map(bedrock or openai), parsed=True)


def _refused(name: str, type_: str, why: str, accepts: tuple[Any, ...] = ()) -> FieldSpec:
    return FieldSpec(name, type_, *_both(_refuse, why), parsed=True, accepts=accepts)


def _not_sent(name: str, type_: str, why: str) -> FieldSpec:
    """Accepted and not sent on: what OpenAI's answers carry and clients send back."""
    return FieldSpec(name, type_, *_both(_map, f"accepted, not sent: {why}"), parsed=True)


_ROLE = _read("role", "string", "the turn's role")
_NAMES = "participant names are not carried (Converse has none; turns are merged)"
_NO_AUDIO = "audio is not carried by the gateway"
_BREAKPOINT = _refused(
    "prompt_cache_breakpoint", "object", "not carried: put cache_control on the part instead"
)
_CACHE_CONTROL = FieldSpec(
    "cache_control", "object", _pass('{"type": "ephemeral"} only'),
    _map("a cachePoint block after the part"), parsed=True,
)  # fmt: skip
_TYPE = _read("type", "string", "selects the part's kind")
_FUNCTION_TYPE = _read("type", "string", "function only")
_CUSTOM = _refused("custom", "object", "custom tools are not carried by the gateway")

MESSAGE_SHAPES: dict[str, Shape] = {
    role: _shape(
        f"messages[] ({role})",
        _ROLE,
        _read(
            "content",
            "string or array",
            "the system prompt (text parts; joined)",
            "system blocks (text parts; joined)",
        ),
        _refused("name", "string", _NAMES),
    )
    for role in ("system", "developer")
} | {
    "user": _shape(
        "messages[] (user)",
        _ROLE,
        _read(
            "content",
            "string or array",
            "content (text and image parts)",
            "content blocks (text, image)",
        ),
        _refused("name", "string", _NAMES),
    ),
    "assistant": _shape(
        "messages[] (assistant)",
        _ROLE,
        _read("content", "string or array", "content (text parts; refusal parts as text)"),
        _refused("name", "string", _NAMES),
        _read("refusal", "string", "sent as the turn's text (after content)"),
        _read("tool_calls", "array", "tool_calls", "toolUse blocks"),
        _refused("audio", "object", f"{_NO_AUDIO} (null accepted)"),
        _refused("function_call", "object", "deprecated by OpenAI: use tool_calls (null accepted)"),
        _not_sent("annotations", "array", "an answer's citations, already in its text"),
        _not_sent(
            "reasoning_content",
            "string",
            "the answer's reasoning, which upstreams do not take back",
        ),
    ),
    "tool": _shape(
        "messages[] (tool)",
        _ROLE,
        _read(
            "content",
            "string or array",
            "content (text parts; joined)",
            "a toolResult block (text parts; joined)",
        ),
        _read("tool_call_id", "string", "tool_call_id", "toolResult.toolUseId"),
        _not_sent("name", "string", "the tool's name, as LangChain sends it; the id says which"),
    ),
    "function": _shape(
        "messages[] (function)",
        _refused("role", "string", "deprecated by OpenAI: use tool messages"),
        _read("content", "string", "— (the message is refused by its role)"),
        _read("name", "string", "— (the message is refused by its role)"),
    ),
}
PART_SHAPES: dict[str, Shape] = {
    "text": _shape(
        "messages[].content[] (text)", _TYPE, _read("text", "string", "text", "a text block"),
        _CACHE_CONTROL, _BREAKPOINT,
    ),
    "image_url": _shape(
        "messages[].content[] (image_url)", _TYPE,
        _read("image_url", "object", "image_url (an http(s) URL is fetched, sent as data)",
              "an image block (an http(s) URL fetched by the gateway)"),
        _CACHE_CONTROL, _BREAKPOINT,
    ),
    "refusal": _shape(
        "messages[].content[] (refusal)", _TYPE,
        _read("refusal", "string", "text (assistant messages only)"),
    ),
    "input_audio": _shape(
        "messages[].content[] (input_audio)", _TYPE,
        _refused("input_audio", "object", _NO_AUDIO), _BREAKPOINT,
    ),
    "file": _shape(
        "messages[].content[] (file)", _TYPE,
        _refused("file", "object", "file parts are not carried by the gateway"), _BREAKPOINT,
    ),
}  # fmt: skip
IMAGE_URL = _shape(
    "messages[].content[].image_url",
    _read("url", "string", "url (a data: URL, or an http(s) URL fetched by the gateway)",
          "the image bytes (a data: URL, or an http(s) URL fetched by the gateway)"),
    FieldSpec("detail", "string", _pass("auto, low or high"),
              _refuse("Converse has no image detail setting: low is refused"),
              parsed=True, bedrock_accepts=("auto", "high")),
)  # fmt: skip
TOOL_CALL = _shape(
    "messages[].tool_calls[]",
    _read("id", "string", "id", "toolUse.toolUseId"),
    _FUNCTION_TYPE,
    _read("function", "object", "function (name, arguments)", "toolUse (name, input)"),
    _CUSTOM,
)
TOOL_CALL_FUNCTION = _shape(
    "messages[].tool_calls[].function",
    _read("name", "string", "name", "toolUse.name"),
    _read("arguments", "string", "arguments (JSON text)", "toolUse.input (parsed)"),
)
TOOL = _shape(
    "tools[]",
    _FUNCTION_TYPE,
    _read("function", "object", "function", "toolConfig.tools[].toolSpec"),
    _CUSTOM,
)
TOOL_FUNCTION = _shape(
    "tools[].function",
    _read("name", "string", "name (1 to 64 characters)", "toolSpec.name"),
    _read("description", "string", "description", "toolSpec.description"),
    _read("parameters", "object", "parameters", "toolSpec.inputSchema.json"),
    FieldSpec("strict", "boolean", _pass(),
              _refuse("Converse's toolSpec has no strict mode: true is refused"),
              parsed=True, bedrock_accepts=(False,)),
)  # fmt: skip
TOOL_CHOICE = _shape(
    "tool_choice (object)",
    _FUNCTION_TYPE,
    _read("function", "object", "function", "toolConfig.toolChoice.tool"),
    _refused("allowed_tools", "object", "allowed_tools choices are not carried by the gateway"),
    _CUSTOM,
)
TOOL_CHOICE_FUNCTION = _shape(
    "tool_choice.function", _read("name", "string", "name", "toolChoice.tool.name")
)
STREAM_OPTIONS = _shape(
    "stream_options",
    _read("include_usage", "boolean", "a last chunk with usage"),
    _refused(
        "include_obfuscation", "boolean",
        "the gateway re-frames chunks and pads none (false accepted)", accepts=(False,),
    ),
)  # fmt: skip
SHAPES: tuple[Shape, ...] = (
    *MESSAGE_SHAPES.values(),
    *PART_SHAPES.values(),
    IMAGE_URL,
    TOOL_CALL,
    TOOL_CALL_FUNCTION,
    TOOL,
    TOOL_FUNCTION,
    TOOL_CHOICE,
    TOOL_CHOICE_FUNCTION,
    STREAM_OPTIONS,
)


@dataclass(frozen=True, slots=True)
class Refused:
    """A field sent with a value Bedrock refuses: where it is (`param`) and its row."""

    param: str
    spec: FieldSpec


@dataclass(frozen=True, slots=True)
class Screened:
    """What `screen` found: the fields to send as they are, and one Bedrock would refuse."""

    passthrough: dict[str, Any]
    bedrock_refused: Refused | None


_NOTHING = Screened({}, None)


def _type_error(spec: FieldSpec) -> GatewayError:
    return invalid(f"{spec.name} must be of type {spec.type}", param=spec.name, code="invalid_type")


def refusal(spec: FieldSpec, rule: Rule, where: str, param: str | None = None) -> GatewayError:
    param = param or spec.name
    return invalid(
        f"{param} is not supported {where}: {rule.note}",
        param=param,
        code="unsupported_parameter",
    )


def _unknown(param: str) -> GatewayError:
    return invalid(
        f"unknown parameter: {param} is not a Chat Completions field",
        param=param,
        code="unknown_parameter",
    )


def _among(value: Any, values: tuple[Any, ...]) -> bool:
    # `type(...) is`: `false` must not pass for `0`, nor `0` for `false`.
    return any(type(value) is type(ok) and value == ok for ok in values)


def screen(data: dict[str, Any]) -> Screened:
    """Apply the table to a request's top-level fields (the parsed ones are checked by
    `wire_in`); raise the 400 of the first refused or unknown field."""
    passthrough: dict[str, Any] | None = None
    bedrock_refused: Refused | None = None
    for key, value in data.items():
        spec = BY_NAME.get(key)
        if spec is None:
            raise _unknown(key)
        if value is None:  # OpenAI reads null as "not set"
            continue
        if not spec.parsed and not _TYPES[spec.type](value):
            raise _type_error(spec)
        if (
            bedrock_refused is None
            and spec.bedrock.kind is Kind.REFUSE
            and not _among(value, spec.bedrock_accepts)
        ):
            bedrock_refused = Refused(key, spec)
        if spec.parsed:
            continue
        if spec.openai.kind is Kind.REFUSE:
            raise refusal(spec, spec.openai, "by the gateway")
        if passthrough is None:
            passthrough = {}
        passthrough[key] = value
    if passthrough is None and bedrock_refused is None:
        return _NOTHING
    return Screened(passthrough or {}, bedrock_refused)


class Nested:
    """The nested checks of one request: `check` each object; the first key Bedrock would
    refuse is kept (`bedrock_refused`), as `screen` keeps a top-level one."""

    __slots__ = ("bedrock_refused",)

    def __init__(self, bedrock_refused: Refused | None = None) -> None:
        self.bedrock_refused = bedrock_refused

    def check(self, obj: dict[str, Any], shape: Shape, where: str) -> None:
        """Raise the 400 of an unknown key of `obj` or of one refused on every upstream."""
        if obj.keys() <= shape.plain:  # the usual case, a set test in C
            return
        fields = shape.by_name
        for key, value in obj.items():
            spec = fields.get(key)
            if spec is None:
                raise _unknown(f"{where}.{key}")
            if value is None:  # null is "not set", as OpenAI reads it
                continue
            if spec.openai.kind is Kind.REFUSE and not _among(value, spec.accepts):
                raise refusal(spec, spec.openai, "by the gateway", param=f"{where}.{key}")
            if (
                spec.bedrock.kind is Kind.REFUSE
                and self.bedrock_refused is None
                and not _among(value, spec.bedrock_accepts)
                and not _among(value, spec.accepts)
            ):
                self.bedrock_refused = Refused(f"{where}.{key}", spec)


def markdown_table() -> str:
    """The table as docs/gateway.md shows it (a test keeps the two equal)."""
    lines = [
        "| field | type | OpenAI-compatible upstream | Bedrock |",
        "| --- | --- | --- | --- |",
    ]
    for spec in sorted(FIELDS, key=lambda s: s.name):
        bedrock = spec.bedrock.cell()
        if spec.bedrock_accepts:
            accepted = ", ".join(_json(v) for v in spec.bedrock_accepts)
            bedrock += f" ({accepted} accepted: it asks for nothing)"
        lines.append(f"| `{spec.name}` | {spec.type} | {spec.openai.cell()} | {bedrock} |")
    lines.append(f"| any other field | — | {UNKNOWN_RULE} | {UNKNOWN_RULE} |")
    return "\n".join(lines)


def nested_markdown_table() -> str:
    """The nested keys as docs/gateway.md shows them (a test keeps the two equal)."""
    lines = [
        "| in | key | type | OpenAI-compatible upstream | Bedrock |",
        "| --- | --- | --- | --- | --- |",
    ]
    for shape in SHAPES:
        for spec in shape.fields:
            openai, bedrock = spec.openai.cell(), spec.bedrock.cell()
            if spec.bedrock_accepts:
                accepted = ", ".join(_json(v) for v in spec.bedrock_accepts)
                bedrock += f" ({accepted} accepted)"
            where = f"`{shape.path}`"
            lines.append(f"| {where} | `{spec.name}` | {spec.type} | {openai} | {bedrock} |")
    unknown = "refuse: 400 naming its path (`messages[2].name`)"
    lines.append(f"| any of the above | any other key | — | {unknown} | {unknown} |")
    return "\n".join(lines)


def _json(value: Any) -> str:
    return f"`{json.dumps(value)}`"
