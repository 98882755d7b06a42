"""The brain's individual abilities: each reads a prompt and answers, or passes (None).

They are deliberately literal: a certification suite asks checkable questions ("What is
17 + 25?", "Reply with exactly: PONG"), and a simulated model must answer them the same way
every time.
"""

from __future__ import annotations

import ast
import json
import operator
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from myia.sim.conversation import Conversation
from myia.sim.images import COLOURS, ImageError, dominant_colour

_WORD_OPS = (
    (r"\bmultiplied by\b", "*"),
    (r"\bdivided by\b", "/"),
    (r"\btimes\b", "*"),
    (r"\bplus\b", "+"),
    (r"\bminus\b", "-"),
    (r"×", "*"),
    (r"÷", "/"),
    (r"(?<=\d)\s*[xX]\s*(?=\d)", "*"),
)
_NUMBER = r"\(?\s*-?\d+(?:\.\d+)?\s*\)?"
_EXPRESSION = re.compile(rf"{_NUMBER}(?:\s*[-+*/]\s*{_NUMBER})+")
_BINOPS: dict[type[ast.operator], Callable[[Fraction, Fraction], Fraction]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def _evaluate(node: ast.AST) -> Fraction:
    """Arithmetic only: numbers, + - * / and unary minus; anything else is refused."""
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return Fraction(str(node.value))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _BINOPS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    raise ValueError("not arithmetic")


def _format_number(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.6f}".rstrip("0").rstrip(".")


def find_expression(prompt: str) -> str | None:
    text = prompt
    for pattern, symbol in _WORD_OPS:
        text = re.sub(pattern, f" {symbol} ", text, flags=re.IGNORECASE)
    match = _EXPRESSION.search(text)
    return match.group(0).strip() if match else None


def arithmetic(prompt: str) -> str | None:
    expression = find_expression(prompt)
    if expression is None:
        return None
    for candidate in (expression, expression.replace("(", "").replace(")", "")):
        try:
            value = _evaluate(ast.parse(candidate, mode="eval"))
        except ZeroDivisionError:
            return "The result is undefined (division by zero)."
        except (SyntaxError, ValueError):
            continue
        number = _format_number(value)
        if re.search(r"\b(only|just)\b", prompt, re.IGNORECASE):
            return number
        return f"{' '.join(candidate.split())} = {number}"
    return None


_EXACT = (
    re.compile(
        r"\b(?:reply|respond|answer|say|output|print|write|return)\s+(?:with\s+|back\s+)?"
        r"exactly\s*[:\-]?\s*(.+)",
        re.IGNORECASE,
    ),
    re.compile(r"\brepeat after me\s*[:\-]?\s*(.+)", re.IGNORECASE),
)
_QUOTES = {'"': '"', "'": "'", "`": "`", "“": "”", "‘": "’"}


def exact(prompt: str) -> str | None:
    for pattern in _EXACT:
        match = pattern.search(prompt)
        if match is None:
            continue
        text = match.group(1).splitlines()[0].strip()
        text = re.sub(r"\s*,?\s*and nothing else\.?$", "", text, flags=re.IGNORECASE)
        if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1]:
            text = text[1:-1]
        elif text and text[0] in _QUOTES and _QUOTES[text[0]] in text[1:]:
            text = text[1 : text.index(_QUOTES[text[0]], 1)]
        return text
    return None


# --- memory ----------------------------------------------------------------------------
# Case-insensitive where people write freely; the value's continuation words must be
# capitalised so "My name is Ada Lovelace and I…" keeps the name and drops the rest.
_FACT = re.compile(
    r"\b(?i:my|the)\s+((?i:[a-z][a-z ]{0,30}?))\s*(?:(?i:\bis\b|\bwas\b)|:|=)\s*"
    r"['\"“]?([A-Za-z0-9][\w'-]*(?:\s+[A-Z][\w'-]*)*)"
)
_QUESTION = re.compile(
    r"\bwhat(?:'s|\s+is|\s+was)\s+(?:my|the)\s+([a-z][a-z ]{0,30}?)\s*(?:\?|$|\.)",
    re.IGNORECASE,
)


def _key(text: str) -> str:
    return re.sub(r"\s+", "", text.lower())


def recall(conversation: Conversation, prompt: str) -> str | None:
    question = _QUESTION.search(prompt)
    if question is None:
        return None
    facts: dict[str, str] = {}
    for message in conversation.messages:
        if message.role != "user" or message.text == prompt:
            continue
        for key, value in _FACT.findall(message.text):
            facts[_key(key)] = value
    return facts.get(_key(question.group(1)))


# --- JSON ------------------------------------------------------------------------------
_KEYS = re.compile(
    r"\b(?:keys|fields|properties)\b\s*:?\s*(.+?)(?:[.?!;:](?:\s|$)|$)", re.IGNORECASE
)
_DEFAULT_VALUES: dict[str, Any] = {
    "name": "Alice",
    "first_name": "Alice",
    "last_name": "Smith",
    "age": 30,
    "city": "Paris",
    "country": "France",
    "email": "alice@example.com",
    "id": 1,
    "count": 3,
    "price": 9.99,
    "amount": 9.99,
    "color": "blue",
    "colour": "blue",
    "date": "2024-01-01",
    "title": "Example",
    "status": "ok",
    "answer": "42",
    "language": "English",
    "year": 2024,
    "score": 5,
}


def _json_keys(prompt: str) -> tuple[list[str], str]:
    match = _KEYS.search(prompt)
    if match is None:
        return [], prompt
    parts = re.split(r",|\band\b|\bor\b", match.group(1))
    keys = [p.strip().strip("\"'`“”").strip() for p in parts]
    keys = [k for k in keys if re.fullmatch(r"[\w-]+", k)]
    rest = prompt[: match.start()] + prompt[match.end() :]
    return list(dict.fromkeys(keys)), rest


def _json_value(key: str, text: str) -> Any:
    pattern = rf"\b{re.escape(key)}\b\s*(?:is|=|:)?\s*(?:\"([^\"]*)\"|'([^']*)'|([\w.@-]+))"
    for match in re.finditer(pattern, text, re.IGNORECASE):
        value = next(g for g in match.groups() if g is not None)
        if match.group(3) is not None:
            value = value.rstrip(".")  # sentence punctuation, not part of the value
        if value.lower() in {"and", "or", "the", "a", "an", "with", "of", "to", "for"}:
            continue
        if re.fullmatch(r"-?\d+", value):
            return int(value)
        if re.fullmatch(r"-?\d+\.\d+", value):
            return float(value)
        return value
    lowered = key.lower()
    if lowered in _DEFAULT_VALUES:
        return _DEFAULT_VALUES[lowered]
    if lowered.startswith(("is_", "has_")):
        return True
    return f"example {key}"


def wants_json(conversation: Conversation, prompt: str) -> bool:
    return conversation.json_mode or bool(re.search(r"\bjson\b", prompt, re.IGNORECASE))


def json_object(prompt: str) -> dict[str, Any]:
    keys, rest = _json_keys(prompt)
    if not keys:
        return {"answer": generic(prompt)}
    return {key: _json_value(key, rest) for key in keys}


def json_as_prose(value: dict[str, Any]) -> str:
    """What a model that ignores JSON instructions says instead."""
    parts = [f"the {k} is {v}" for k, v in value.items()]
    return "Sure! Here is what you asked for: " + ", ".join(parts) + "."


# --- vision ----------------------------------------------------------------------------
def colour_answer(image: bytes, prompt: str, *, wrong: bool) -> str:
    try:
        colour = dominant_colour(image)
    except ImageError:
        return "I can't make out the contents of this image."
    if wrong:
        names = list(COLOURS)
        colour = names[(names.index(colour) + 3) % len(names)]
    if re.search(r"\bone word\b|\bsingle word\b", prompt, re.IGNORECASE):
        return colour.capitalize()
    return f"The image is mostly {colour}."


# --- long writing ----------------------------------------------------------------------
_COUNT = re.compile(r"\bcount\s+from\s+(-?\d+)\s+to\s+(-?\d+)", re.IGNORECASE)
_LONG = re.compile(
    r"\b(?:long|detailed|lengthy|extensive|\d{3,}[- ]word)\b.*?"
    r"\b(story|essay|article|poem|report|text|explanation|description|letter)\b",
    re.IGNORECASE,
)
_SENTENCES = (
    "Long ago, in a quiet valley, people spoke of {topic} in hushed and hopeful voices.",
    "Every season brought a new lesson about {topic}, and every lesson raised a question.",
    "The elders argued that {topic} was a matter of patience more than of talent.",
    "Young travellers set out to understand {topic} and came back changed in small ways.",
    "Some wrote long letters about {topic}; others simply watched and listened.",
    "Over the years the story of {topic} grew, retold at every table and every fire.",
    "Nobody agreed on where {topic} began, but everyone agreed it mattered.",
    "In the end, {topic} taught the valley that curiosity is its own reward.",
)


def _separator(prompt: str) -> str:
    if re.search(r"\b(?:new ?lines?|one per line|each on its own line)\b", prompt, re.I):
        return "\n"
    if re.search(r"\bspaces?\b", prompt, re.IGNORECASE):
        return " "
    return ", "


def long_text(prompt: str) -> str | None:
    count = _COUNT.search(prompt)
    if count:
        start, end = int(count.group(1)), int(count.group(2))
        step = 1 if end >= start else -1
        numbers = list(range(start, end + step, step))[:5000]
        return _separator(prompt).join(str(n) for n in numbers)
    match = _LONG.search(prompt)
    if match is None:
        return None
    about = re.search(r"\babout\s+([^.?!\n]+)", prompt, re.IGNORECASE)
    topic = about.group(1).strip() if about else f"the {match.group(1).lower()}"
    paragraphs = []
    for p in range(8):
        sentences = [_SENTENCES[(p + i) % len(_SENTENCES)] for i in range(6)]
        paragraphs.append(" ".join(s.format(topic=topic) for s in sentences))
    return "\n\n".join(paragraphs)


# --- fallback --------------------------------------------------------------------------
_CAPITALS = {
    "france": "Paris",
    "germany": "Berlin",
    "italy": "Rome",
    "spain": "Madrid",
    "portugal": "Lisbon",
    "japan": "Tokyo",
    "brazil": "Brasília",
    "canada": "Ottawa",
    "united kingdom": "London",
    "england": "London",
    "australia": "Canberra",
}


def generic(prompt: str) -> str:
    capital = re.search(r"\bcapital of ([a-z ]+?)\s*[?.!]?$", prompt.strip(), re.IGNORECASE)
    country = capital.group(1).strip() if capital else ""
    if country.lower() in _CAPITALS:
        return f"The capital of {country} is {_CAPITALS[country.lower()]}."
    if re.match(r"\s*(hi|hello|hey|good (morning|afternoon|evening))\b", prompt, re.IGNORECASE):
        return "Hello! How can I help you today?"
    if not prompt.strip():
        return "How can I help you today?"
    topic = " ".join(prompt.strip().rstrip("?.!").split()[:12])
    return (
        f"Here is a short answer about “{topic}”: it depends on the context, but the key "
        "points are to start simple, check the facts and iterate."
    )


def describe_json(value: dict[str, Any]) -> str:
    return json.dumps(value)
