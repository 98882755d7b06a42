"""Tool calling: pick the tool a prompt asks for and fill arguments its schema accepts."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator
from typing import Any

from myia.sim.conversation import Conversation, Tool, ToolCall
from myia.sim.skills import find_expression

_STOPWORDS = frozenset(
    re.findall(
        r"\w+",
        "the a an and or of for to in on at by with from this that these those what which "
        "who when where how use using tool function get set call returns return given some "
        "any please current",
    )
)
_PLACE_HINTS = ("city", "location", "place", "town", "country", "destination", "region")
_FREE_TEXT_HINTS = ("query", "text", "question", "prompt", "input", "message", "search", "q")
_PLACE = re.compile(r"\b(?:in|for|at|to|from|near|of)\s+([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)")
_CAPITALISED = re.compile(r"\b[A-Z][a-z][\w'-]*")
_QUOTED = re.compile(r"[\"“']([^\"”']{1,200})[\"”']")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _words(text: str) -> set[str]:
    parts = re.findall(r"[a-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", text).lower())
    return {w for w in parts if len(w) >= 3 and w not in _STOPWORDS}


def _score(tool: Tool, prompt: str) -> int:
    lowered = prompt.lower()
    if tool.name.lower() in lowered or tool.name.replace("_", " ").lower() in lowered:
        return 100
    prompt_words = _words(prompt)
    # Crude stemming (first five letters) so "weather" meets "weathers" and "forecast" meets
    # "forecasting" without a stemmer dependency.
    stems = {w[:5] for w in prompt_words}
    wanted = _words(tool.name) | _words(tool.description)
    return sum(1 for w in wanted if w[:5] in stems)


def choose_tool(conversation: Conversation, prompt: str) -> Tool | None:
    tools = conversation.tools
    if not tools or conversation.tool_choice == "none":
        return None
    if conversation.tool_choice == "tool" and conversation.forced_tool:
        return next((t for t in tools if t.name == conversation.forced_tool), tools[0])
    best = max(tools, key=lambda t: _score(t, prompt))
    if _score(best, prompt) > 0 or conversation.tool_choice == "any":
        return best
    return None


def _string_for(name: str, spec: dict[str, Any], prompt: str) -> str:
    hint = f"{name} {spec.get('description', '')}".lower()
    if any(h in hint for h in _PLACE_HINTS):
        place = _PLACE.search(prompt)
        if place:
            return place.group(1)
    if "expression" in hint:
        expression = find_expression(prompt)
        if expression:
            return expression
    quoted = _QUOTED.search(prompt)
    if quoted:
        return quoted.group(1)
    if any(h == name.lower() or h in hint.split() for h in _FREE_TEXT_HINTS):
        return prompt.strip()
    capitalised = _proper_noun(prompt)
    if capitalised:
        return capitalised
    return "Paris" if any(h in hint for h in _PLACE_HINTS) else "example"


def _proper_noun(prompt: str) -> str | None:
    """A capitalised word that does not merely start a sentence."""
    for match in _CAPITALISED.finditer(prompt):
        before = prompt[: match.start()].rstrip()
        if before and before[-1] not in ".!?:":
            return match.group(0)
    return None


def _enum_for(options: list[Any], prompt: str) -> Any:
    lowered = prompt.lower()
    for option in options:
        if str(option).lower() in lowered:
            return option
    return options[0]


def _bounded(value: float, spec: dict[str, Any], integer: bool) -> float:
    """`value` moved inside the schema's minimum/maximum (exclusive ones too)."""
    step = 1.0 if integer else 0.5
    low, high = spec.get("minimum"), spec.get("maximum")
    if isinstance(spec.get("exclusiveMinimum"), int | float):
        low = spec["exclusiveMinimum"] + step
    if isinstance(spec.get("exclusiveMaximum"), int | float):
        high = spec["exclusiveMaximum"] - step
    if low is not None and value < low:
        value = math.ceil(low) if integer else low
    if high is not None and value > high:
        value = math.floor(high) if integer else high
    return value


def _number_for(spec: dict[str, Any], numbers: Iterator[str], integer: bool) -> int | float:
    value = _bounded(float(next(numbers, "1")), spec, integer)
    if integer:
        value = math.floor(value) if value >= 0 else math.ceil(value)
        value = _bounded(value, spec, integer)
        multiple = spec.get("multipleOf")
        if isinstance(multiple, int) and multiple > 0:
            value = math.ceil(value / multiple) * multiple
        return int(value)
    value = float(value)
    return int(value) if value.is_integer() else value


def _sized_string(text: str, spec: dict[str, Any]) -> str:
    low, high = spec.get("minLength"), spec.get("maxLength")
    if isinstance(high, int) and len(text) > high:
        text = text[:high]
    if isinstance(low, int) and len(text) < low:
        text = text + "x" * (low - len(text))
    return text


def _kind(spec: dict[str, Any]) -> str:
    kind = spec.get("type")
    if kind is None:
        if "properties" in spec:
            return "object"
        if "items" in spec:
            return "array"
        return "string"
    if isinstance(kind, list):
        return next((str(k) for k in kind if k != "null"), "null")
    return str(kind)


def _branch(spec: dict[str, Any]) -> dict[str, Any]:
    """The first non-null alternative of an anyOf/oneOf, merged over the outer keywords."""
    for keyword in ("anyOf", "oneOf"):
        options = spec.get(keyword)
        if isinstance(options, list) and options:
            chosen = next((o for o in options if o.get("type") != "null"), options[0])
            outer = {k: v for k, v in spec.items() if k != keyword}
            return {**outer, **chosen}
    return spec


def _array_for(name: str, spec: dict[str, Any], prompt: str, numbers: Iterator[str]) -> list[Any]:
    item = spec.get("items") or {"type": "string"}
    low, high = spec.get("minItems"), spec.get("maxItems")
    count = max(low, 1) if isinstance(low, int) else 1
    if isinstance(high, int):
        count = min(count, high)
    options = list(item.get("enum") or [])
    values: list[Any] = []
    for index in range(count):
        if options:
            value = options[index % len(options)]
        else:
            value = _value_for(name, item, prompt, numbers)
        if spec.get("uniqueItems") and value in values:
            value = _distinct(value, values, item)
        values.append(value)
    return values


def _distinct(value: Any, taken: list[Any], spec: dict[str, Any]) -> Any:
    """Another value of the same kind, for `uniqueItems` arrays."""
    for n in (*range(1, 1000), *range(-1, -1000, -1)):
        if isinstance(value, bool):
            candidate: Any = not value
        elif isinstance(value, int | float):
            candidate = _bounded(value + n, spec, isinstance(value, int))
            candidate = int(candidate) if isinstance(value, int) else candidate
        elif isinstance(value, str):
            candidate = _sized_string(f"{value} {abs(n)}", spec)
        else:
            return value
        if candidate not in taken:
            return candidate
    return value


def _value_for(name: str, spec: dict[str, Any], prompt: str, numbers: Iterator[str]) -> Any:
    spec = _branch(spec)
    if "const" in spec:
        return spec["const"]
    if spec.get("enum"):
        return _enum_for(list(spec["enum"]), prompt)
    kind = _kind(spec)
    if kind in ("integer", "number"):
        return _number_for(spec, numbers, kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if kind == "array":
        return _array_for(name, spec, prompt, numbers)
    if kind == "object":
        return _object_for(spec, prompt, numbers)
    return _sized_string(_string_for(name, spec, prompt), spec)


def _mentioned(name: str, spec: dict[str, Any], prompt: str) -> bool:
    """Whether the prompt speaks of an optional property: its name, or one of its enum values."""
    words = name.replace("_", " ").lower()
    if re.search(rf"\b{re.escape(words)}\b", prompt.lower()):
        return True
    lowered = prompt.lower()
    return any(str(option).lower() in lowered for option in spec.get("enum") or ())


def _object_for(schema: dict[str, Any], prompt: str, numbers: Iterator[str]) -> dict[str, Any]:
    properties: dict[str, Any] = schema.get("properties") or {}
    required = schema.get("required")
    if required is None:
        names = list(properties)
    else:
        names = [n for n in properties if n in required or _mentioned(n, properties[n], prompt)]
    return {name: _value_for(name, properties[name] or {}, prompt, numbers) for name in names}


def build_arguments(schema: dict[str, Any], prompt: str) -> dict[str, Any]:
    """Arguments valid against `schema`: required properties (all, if none are required),
    plus optional ones the prompt mentions; nested objects, arrays, enums and ranges too."""
    return _object_for(_inline_refs(schema), prompt, iter(_NUMBER.findall(prompt)))


_MAX_REF_DEPTH = 8


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with its local `$ref`s (`#/$defs/X`, as pydantic writes nested models)
    replaced by what they point to; a recursive one stops at `_MAX_REF_DEPTH`."""

    def target(ref: str) -> Any:
        node: Any = schema
        for part in ref[2:].split("/"):
            node = (
                node.get(part.replace("~1", "/").replace("~0", "~"))
                if isinstance(node, dict)
                else None
            )
        return node

    def walk(node: Any, depth: int) -> Any:
        if isinstance(node, list):
            return [walk(item, depth) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/") and depth < _MAX_REF_DEPTH:
            found = target(ref)
            if isinstance(found, dict):
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return walk({**found, **rest}, depth + 1)
        return {k: walk(v, depth) for k, v in node.items() if k != "$defs"}

    return walk(schema, 0) if "$ref" in json.dumps(schema) else schema


# --- schema-breaking arguments (`tool_args_invalid_rate`) ------------------------------
_WRONG_TYPE: dict[str, Any] = {
    "string": 12345,
    "integer": "twelve",
    "number": "a lot",
    "boolean": "yes",
    "array": "not a list",
    "object": "not an object",
    "null": 0,
}


def _breakages(schema: dict[str, Any], arguments: dict[str, Any]) -> list[dict[str, Any]]:
    """Ways to make `arguments` invalid: drop a required field, wrong type, out of range,
    value outside the enum. Each is a complete, invalid argument object."""
    properties: dict[str, Any] = schema.get("properties") or {}
    ways: list[dict[str, Any]] = []
    required = [n for n in schema.get("required") or () if n in arguments]
    if required:
        ways.append({k: v for k, v in arguments.items() if k != required[0]})
    for name in arguments:
        spec = _branch(properties.get(name) or {})
        kind = _kind(spec)
        if isinstance(spec.get("type"), str) and kind in _WRONG_TYPE:
            ways.append({**arguments, name: _WRONG_TYPE[kind]})
        if kind in ("integer", "number") and isinstance(spec.get("maximum"), int | float):
            ways.append({**arguments, name: spec["maximum"] + 1000})
        if kind in ("integer", "number") and isinstance(spec.get("minimum"), int | float):
            ways.append({**arguments, name: spec["minimum"] - 1000})
        if spec.get("enum") and all(isinstance(o, str) for o in spec["enum"]):
            ways.append({**arguments, name: "not-one-of-" + "-".join(spec["enum"])})
    if schema.get("additionalProperties") is False:
        ways.append({**arguments, "unexpected_field": True})
    return ways


def break_arguments(schema: dict[str, Any], arguments: dict[str, Any], n: int) -> dict[str, Any]:
    """The `n`-th way (cycling) to make `arguments` break `schema`.

    A schema that accepts any object cannot be broken: the arguments come back unchanged.
    """
    ways = _breakages(schema, arguments)
    return ways[n % len(ways)] if ways else arguments


def tool_call_id(prefix: str, *parts: str, length: int = 24) -> str:
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    value = int(digest, 16)
    chars = []
    for _ in range(length):
        value, index = divmod(value, len(alphabet))
        chars.append(alphabet[index])
    return prefix + "".join(chars)


def plan_tool_call(conversation: Conversation, *, id_prefix: str) -> ToolCall | None:
    """A call to the tool the last user turn asks for, unless it is answering a tool."""
    last = conversation.messages[-1] if conversation.messages else None
    if last is None or last.role != "user" or last.tool_results:
        return None
    tool = choose_tool(conversation, last.text)
    if tool is None:
        return None
    arguments = build_arguments(tool.schema, last.text)
    seed = (tool.name, last.text, str(len(conversation.messages)))
    return ToolCall(tool_call_id(id_prefix, *seed), tool.name, arguments)
