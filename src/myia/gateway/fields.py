"""Every Chat Completions request field, and what the gateway does with it per upstream kind.

One table, rendered in docs/gateway.md ("Request fields") and walked by
tests/gateway/test_field_table.py: for each field OpenAI documents, on an OpenAI-compatible
upstream and on Bedrock, it is passed as sent (`pass`), mapped (`map`, to what), or refused
with a 400 naming it (`refuse`, and why). A top-level field not in the table is refused too:
a misspelt or newer option must fail loudly rather than vanish.

`screen` applies it to one request: one dict lookup and a type test per field sent, and a
dict allocated only when a field goes through as is.
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
    FieldSpec("safety_identifier", "string", _pass("also written to the gateway log"),
              _map("written to the gateway log; Converse has no end-user field")),
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
    FieldSpec("user", "string", _pass("also written to the gateway log"),
              _map("written to the gateway log; Converse has no end-user field")),
    FieldSpec("verbosity", "string", _pass(), _refuse(_OPENAI_ONLY)),
    FieldSpec("web_search_options", "object", _pass(), _refuse(_OPENAI_ONLY)),
)  # fmt: skip

BY_NAME: dict[str, FieldSpec] = {spec.name: spec for spec in FIELDS}
UNKNOWN_RULE = "refuse: not a Chat Completions field (400 naming it)"
# Fields the gateway also writes to its log: who the end user is, as the client says.
RECORDED = ("user", "safety_identifier")


@dataclass(frozen=True, slots=True)
class Screened:
    """What `screen` found: the fields to send as they are, and one Bedrock would refuse."""

    passthrough: dict[str, Any]
    bedrock_refused: str | None


_NOTHING = Screened({}, None)


def _type_error(spec: FieldSpec) -> GatewayError:
    return invalid(f"{spec.name} must be of type {spec.type}", param=spec.name, code="invalid_type")


def refusal(spec: FieldSpec, rule: Rule, where: str) -> GatewayError:
    return invalid(
        f"{spec.name} is not supported {where}: {rule.note}",
        param=spec.name,
        code="unsupported_parameter",
    )


def screen(data: dict[str, Any]) -> Screened:
    """Apply the table to a request's top-level fields (the parsed ones are checked by
    `wire_in`); raise the 400 of the first refused or unknown field."""
    passthrough: dict[str, Any] | None = None
    bedrock_refused: str | None = None
    for key, value in data.items():
        spec = BY_NAME.get(key)
        if spec is None:
            raise invalid(
                f"unknown parameter: {key} is not a Chat Completions field",
                param=key,
                code="unknown_parameter",
            )
        if value is None:  # OpenAI reads null as "not set"
            continue
        if not spec.parsed and not _TYPES[spec.type](value):
            raise _type_error(spec)
        if (
            bedrock_refused is None
            and spec.bedrock.kind is Kind.REFUSE
            and not any(type(value) is type(ok) and value == ok for ok in spec.bedrock_accepts)
        ):
            bedrock_refused = key
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


def _json(value: Any) -> str:
    return f"`{json.dumps(value)}`"
