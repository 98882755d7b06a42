"""The tool-calling battery: how often a deployment's tool arguments obey the tool's schema.

One forced call proves little: hosted vendors serving the same open model have been measured
at 71–76 % schema accuracy against 100 % for the model's own API. The battery offers varied
schemas — nested objects, arrays, enums, numbers with ranges, required and optional fields —
with one distractor tool each, plus prompts where no tool should be called, and measures:

- schema accuracy: calls whose name is an offered tool and whose arguments validate
  (`jsonschema`, draft 2020-12) ÷ calls made;
- trigger F1: a prompt that asks for a tool and gets a call to it is a true positive, one
  that gets no call (or another tool) a false negative; any call on a no-tool prompt (and
  a call to the wrong tool) a false positive.

The capability passes when both reach `MIN_SCHEMA_ACCURACY` and `MIN_TRIGGER_F1`
(docs/certification.md works an example). Default: 12 prompts; deep: 52.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from myia.certification.probe import Probe
from myia.providers.types import ChatMessage, ToolCall, ToolSpec

MIN_SCHEMA_ACCURACY = 0.90
MIN_TRIGGER_F1 = 0.90
DEFAULT_PROMPTS = 12
DEEP_PROMPTS = 52
TOOL_MAX_OUT = 300  # output tokens allowed per prompt
# One in six prompts offers tools that do not fit the question.
NO_TOOL_SHARE = 6

CITIES = ("Lisbon", "Porto", "Madrid", "Oslo", "Dublin", "Vienna", "Prague", "Seville")


@dataclass(frozen=True)
class Case:
    prompt: str
    tools: tuple[ToolSpec, ...]
    expected: str | None  # the tool that should be called, None: no tool


def _tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> ToolSpec:
    return ToolSpec(
        name=name,
        description=description,
        input_schema={
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        },
    )


WEATHER = _tool(
    "get_weather",
    "Get the current weather for a city.",
    {
        "city": {"type": "string", "minLength": 1, "description": "City name"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    ["city", "unit"],
)
FLIGHT = _tool(
    "book_flight",
    "Book a flight between two airports.",
    {
        "trip": {
            "type": "object",
            "properties": {
                "passengers": {"type": "integer", "minimum": 1, "maximum": 9},
                "cabin": {"type": "string", "enum": ["economy", "business", "first"]},
                "destination": {"type": "string", "minLength": 1},
            },
            "required": ["passengers", "cabin", "destination"],
            "additionalProperties": False,
        },
        "refundable": {"type": "boolean"},
    },
    ["trip"],
)
THERMOSTAT = _tool(
    "set_thermostat",
    "Set the thermostat target temperature.",
    {
        "temperature": {"type": "number", "minimum": 10, "maximum": 30},
        "mode": {"type": "string", "enum": ["heat", "cool", "auto"]},
    },
    ["temperature", "mode"],
)
PRODUCTS = _tool(
    "search_products",
    "Search the shop catalogue for products.",
    {
        "max_price": {"type": "number", "exclusiveMinimum": 0},
        "categories": {
            "type": "array",
            "items": {"type": "string", "enum": ["books", "games", "music"]},
            "minItems": 1,
        },
        "in_stock": {"type": "boolean"},
    },
    ["max_price", "categories"],
)
REMINDER = _tool(
    "schedule_reminder",
    "Schedule a reminder some minutes from now.",
    {
        "minutes": {"type": "integer", "minimum": 1, "maximum": 1440},
        "priority": {"type": "string", "enum": ["low", "normal", "high"]},
        "note": {"type": "string"},
    },
    ["minutes", "priority"],
)
ROUTE = _tool(
    "plan_route",
    "Plan a route through stops.",
    {
        "stops": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {"stop_minutes": {"type": "integer", "minimum": 0, "maximum": 120}},
                "required": ["stop_minutes"],
                "additionalProperties": False,
            },
        },
        "mode": {"type": "string", "enum": ["driving", "walking", "cycling"]},
    },
    ["stops", "mode"],
)
CART = _tool(
    "add_to_cart",
    "Add an item to the shopping cart.",
    {
        "item": {
            "type": "object",
            "properties": {
                "quantity": {"type": "integer", "minimum": 1, "maximum": 99},
                "size": {"type": "string", "enum": ["small", "medium", "large"]},
            },
            "required": ["quantity", "size"],
            "additionalProperties": False,
        },
        "gift_wrap": {"type": "boolean"},
    },
    ["item"],
)
WORKOUT = _tool(
    "log_workout",
    "Log a finished workout.",
    {
        "activity": {"type": "string", "enum": ["running", "swimming", "rowing"]},
        "duration_minutes": {"type": "integer", "minimum": 1, "maximum": 600},
        "distance_km": {"type": "number", "minimum": 0, "maximum": 500},
    },
    ["activity", "duration_minutes"],
)
STOCK = _tool(
    "get_stock_price",
    "Look up the latest stock price for a ticker symbol.",
    {
        "symbol": {"type": "string", "minLength": 1, "maxLength": 10},
        "exchange": {"type": "string", "enum": ["NASDAQ", "NYSE", "LSE"]},
    },
    ["symbol", "exchange"],
)

Template = Callable[[random.Random], Case]


def _weather(rng: random.Random) -> Case:
    city, unit = rng.choice(CITIES), rng.choice(["celsius", "fahrenheit"])
    return Case(
        f"Use the get_weather tool: what is the weather in {city}, in {unit}?",
        (WEATHER, STOCK),
        WEATHER.name,
    )


def _flight(rng: random.Random) -> Case:
    n, cabin, city = (
        rng.randint(1, 9),
        rng.choice(["economy", "business", "first"]),
        rng.choice(CITIES),
    )
    return Case(
        f"Call book_flight: {n} passengers flying {cabin} to {city}.",
        (FLIGHT, WEATHER),
        FLIGHT.name,
    )


def _thermostat(rng: random.Random) -> Case:
    value, mode = rng.randint(10, 30), rng.choice(["heat", "cool", "auto"])
    return Case(
        f"Use set_thermostat to set the temperature to {value} degrees in {mode} mode.",
        (THERMOSTAT, CART),
        THERMOSTAT.name,
    )


def _products(rng: random.Random) -> Case:
    price, category = rng.randint(5, 200), rng.choice(["books", "games", "music"])
    return Case(
        f"Use search_products to find {category} under {price} euros.",
        (PRODUCTS, ROUTE),
        PRODUCTS.name,
    )


def _reminder(rng: random.Random) -> Case:
    minutes, priority = rng.randint(1, 1440), rng.choice(["low", "normal", "high"])
    return Case(
        f"Use schedule_reminder: in {minutes} minutes, {priority} priority, to stretch.",
        (REMINDER, WORKOUT),
        REMINDER.name,
    )


def _route(rng: random.Random) -> Case:
    stop, mode = rng.randint(0, 120), rng.choice(["driving", "walking", "cycling"])
    return Case(
        f"Use plan_route for a {mode} trip with one stop of {stop} minutes.",
        (ROUTE, THERMOSTAT),
        ROUTE.name,
    )


def _cart(rng: random.Random) -> Case:
    quantity, size = rng.randint(1, 99), rng.choice(["small", "medium", "large"])
    return Case(
        f"Use add_to_cart to add {quantity} {size} t-shirts.",
        (CART, PRODUCTS),
        CART.name,
    )


def _workout(rng: random.Random) -> Case:
    minutes, activity = rng.randint(1, 600), rng.choice(["running", "swimming", "rowing"])
    return Case(
        f"Use log_workout: {minutes} minutes of {activity} today.",
        (WORKOUT, REMINDER),
        WORKOUT.name,
    )


def _stock(rng: random.Random) -> Case:
    symbol, exchange = rng.choice(["ACME", "GLOBX", "INITECH"]), rng.choice(["NASDAQ", "NYSE"])
    return Case(
        f"Use get_stock_price for the symbol '{symbol}' on the {exchange}.",
        (STOCK, FLIGHT),
        STOCK.name,
    )


# Prompts that share no word with the offered tools: a model that calls one anyway is
# triggering where it should not.
_UNRELATED = (
    ("Write a haiku about autumn leaves.", (WEATHER, STOCK)),
    ("Name three primary colours.", (FLIGHT, CART)),
    ("Say hello in Portuguese.", (STOCK, THERMOSTAT)),
    ("Spell the word banana backwards.", (ROUTE, WORKOUT)),
)


def _no_tool(rng: random.Random) -> Case:
    prompt, tools = rng.choice(_UNRELATED)
    return Case(prompt, tools, None)


TEMPLATES: tuple[Template, ...] = (
    _weather,
    _flight,
    _thermostat,
    _products,
    _reminder,
    _route,
    _cart,
    _workout,
    _stock,
)


def battery(rng: random.Random, *, size: int = DEFAULT_PROMPTS) -> list[Case]:
    """`size` cases: every sixth has no fitting tool, the rest cycle the templates."""
    cases: list[Case] = []
    for index in range(size):
        if index % NO_TOOL_SHARE == NO_TOOL_SHARE - 1:
            cases.append(_no_tool(rng))
        else:
            cases.append(TEMPLATES[len(cases) % len(TEMPLATES)](rng))
    return cases


def schema_errors(call: ToolCall, tools: tuple[ToolSpec, ...]) -> list[str]:
    """Why a call's arguments are invalid (empty when valid)."""
    tool = next((t for t in tools if t.name == call.name), None)
    if tool is None:
        return [f"no offered tool is called {call.name!r}"]
    if call.raw_arguments is not None:
        return [f"arguments are not a JSON object: {call.raw_arguments[:60]!r}"]
    validator = Draft202012Validator(tool.input_schema)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(call.arguments)
    ]


@dataclass
class BatteryResult:
    prompts: int = 0
    calls: int = 0
    valid_calls: int = 0
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    first_invalid: str | None = None

    @property
    def schema_accuracy(self) -> float | None:
        return round(self.valid_calls / self.calls, 4) if self.calls else None

    @property
    def trigger_f1(self) -> float:
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        return round(2 * tp / (2 * tp + fp + fn), 4) if tp else 0.0

    @property
    def passed(self) -> bool:
        accuracy = self.schema_accuracy
        return (
            accuracy is not None
            and accuracy >= MIN_SCHEMA_ACCURACY
            and self.trigger_f1 >= MIN_TRIGGER_F1
        )

    def record(self, case: Case, calls: list[ToolCall]) -> None:
        self.prompts += 1
        for call in calls:
            self.calls += 1
            errors = schema_errors(call, case.tools)
            if errors:
                self.first_invalid = self.first_invalid or f"{call.name}: {errors[0]}"
            else:
                self.valid_calls += 1
        called = {c.name for c in calls}
        if case.expected is None:
            self.false_positives += bool(calls)
            return
        if case.expected in called:
            self.true_positives += 1
        else:
            self.false_negatives += 1
        self.false_positives += bool(called - {case.expected})

    def figures(self) -> dict[str, Any]:
        return {
            "tool_prompts": self.prompts,
            "tool_calls": self.calls,
            "tool_calls_valid": self.valid_calls,
            "tool_schema_accuracy": self.schema_accuracy,
            "tool_trigger_f1": self.trigger_f1,
        }

    def detail(self) -> str:
        accuracy = self.schema_accuracy
        shown = "n/a" if accuracy is None else f"{accuracy:.0%}"
        text = (
            f"schema accuracy {shown} ({self.valid_calls}/{self.calls} calls valid, "
            f"min {MIN_SCHEMA_ACCURACY:.0%}), trigger F1 {self.trigger_f1:.2f} "
            f"(min {MIN_TRIGGER_F1:.2f}) over {self.prompts} prompts"
        )
        return f"{text}; first invalid: {self.first_invalid}" if self.first_invalid else text


async def run_battery(probe: Probe, rng: random.Random, *, size: int) -> BatteryResult:
    result = BatteryResult()
    for case in battery(rng, size=size):
        response = await probe.chat(
            messages=[ChatMessage.user(case.prompt)],
            tools=list(case.tools),
            tool_choice="auto",
            max_tokens=TOOL_MAX_OUT,
        )
        result.record(case, response.tool_calls)
    return result
