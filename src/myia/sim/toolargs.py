"""Tool calling: pick the tool a prompt asks for and fill arguments its schema accepts."""

from __future__ import annotations

import hashlib
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


def _value_for(name: str, spec: dict[str, Any], prompt: str, numbers: Iterator[str]) -> Any:
    if spec.get("enum"):
        return _enum_for(list(spec["enum"]), prompt)
    kind = spec.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "integer":
        raw = next(numbers, "1")
        return int(float(raw))
    if kind == "number":
        raw = next(numbers, "1")
        value = float(raw)
        return int(value) if value.is_integer() else value
    if kind == "boolean":
        return True
    if kind == "array":
        item = spec.get("items") or {"type": "string"}
        return [_value_for(name, item, prompt, numbers)]
    if kind == "object":
        return build_arguments(spec, prompt)
    return _string_for(name, spec, prompt)


def build_arguments(schema: dict[str, Any], prompt: str) -> dict[str, Any]:
    """Arguments valid against `schema`: required properties (or all, if none are)."""
    properties: dict[str, Any] = schema.get("properties") or {}
    required = schema.get("required")
    names = [n for n in (required if required is not None else properties) if n in properties]
    numbers = iter(_NUMBER.findall(prompt))
    return {name: _value_for(name, properties[name] or {}, prompt, numbers) for name in names}


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
