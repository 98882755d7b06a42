"""The simulated model's answers: what a certification suite asks, answered the same way."""

from __future__ import annotations

import json

import pytest

from myia.sim.brain import Quirks, apply_system_rules, respond
from myia.sim.conversation import Conversation, Image, Message, Tool, ToolResult, ToolUse
from tests.sim.conftest import solid_png


def ask(text: str, **fields: object) -> Conversation:
    return Conversation([Message("user", [text])], **fields)  # type: ignore[arg-type]


def answer(text: str, **fields: object) -> str:
    return respond(ask(text, **fields)).text


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("What is 17 + 25? Answer with only the number.", "42"),
        ("What is 9 - 12? Answer with only the number.", "-3"),
        ("What is 6 * 7? Reply with just the number.", "42"),
        ("What is 7 / 2? Answer with only the number.", "3.5"),
        ("Compute 2 + 3 * 4, only the number please.", "14"),
        ("What is 12 times 12? Only the number.", "144"),
        ("What is 100 divided by 4? Only the number.", "25"),
    ],
)
def test_arithmetic(prompt: str, expected: str) -> None:
    assert answer(prompt) == expected


def test_arithmetic_without_only_shows_the_sum() -> None:
    assert answer("What is 2+2?") == "2+2 = 4"


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("Reply with exactly: PONG", "PONG"),
        ("Say exactly 'hello world' and nothing else.", "hello world"),
        ("Repeat after me: The quick brown fox.", "The quick brown fox."),
        ('Respond with exactly "OK"', "OK"),
    ],
)
def test_exact_replies(prompt: str, expected: str) -> None:
    assert answer(prompt) == expected


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ("Always answer in uppercase.", "HELLO"),
        ("You must reply in ALL CAPS.", "HELLO"),
        ("Always end your reply with the word BANANA.", "hello BANANA"),
        ("End every answer with 'over'.", "hello over"),
        ("Start every reply with Ahoy", "Ahoy hello"),
        ("Start every reply with Ahoy. Always answer in uppercase.", "AHOY HELLO"),
    ],
)
def test_system_rules(rules: str, expected: str) -> None:
    assert answer("Reply with exactly: hello", system=[rules]) == expected
    assert apply_system_rules("hello", [rules]) == expected


def test_multi_turn_memory() -> None:
    conversation = Conversation(
        [
            Message("user", ["Hi! My name is Ada Lovelace and I like maths."]),
            Message("assistant", ["Nice to meet you."]),
            Message("user", ["Remember the code word: PINEAPPLE."]),
            Message("assistant", ["Got it."]),
            Message("user", ["The secret number is 7352."]),
            Message("assistant", ["Noted."]),
        ]
    )
    for question, expected in [
        ("What is my name?", "Ada Lovelace"),
        ("What is the code word?", "PINEAPPLE"),
        ("What is the secret number? Answer with only the number.", "7352"),
    ]:
        asked = Conversation([*conversation.messages, Message("user", [question])])
        assert respond(asked).text == expected


@pytest.mark.parametrize(
    "prompt",
    [
        "Respond only with a JSON object with the keys name, age and city.",
        'Respond only with a JSON object with the keys "name", "age" and "city".',
    ],
)
def test_json_objects_have_exactly_the_keys(prompt: str) -> None:
    value = json.loads(answer(prompt))
    assert list(value) == ["name", "age", "city"]
    assert isinstance(value["age"], int)


def test_json_uses_values_from_the_prompt() -> None:
    prompt = "Respond only with a JSON object with the keys name and age: name Alice, age 30."
    assert json.loads(answer(prompt)) == {"name": "Alice", "age": 30}


def test_json_fault_answers_prose() -> None:
    prompt = "Respond only with a JSON object with the keys a, b and c."
    reply = respond(ask(prompt), quirks=Quirks(prose_json=True))
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply.text)


def test_json_schema_mode() -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
    }
    value = json.loads(
        answer("Tell me about a city in France.", json_mode=True, json_schema=schema)
    )
    assert set(value) == {"city", "population"} and isinstance(value["population"], int)


def test_vision_names_the_colour_and_the_fault_misnames_it() -> None:
    image = Image("png", solid_png((0, 0, 255)))
    conversation = Conversation(
        [Message("user", ["What colour is this image? Answer with one word.", image])]
    )
    assert respond(conversation).text == "Blue"
    wrong = respond(conversation, quirks=Quirks(wrong_colours=True)).text
    assert wrong != "Blue" and wrong.isalpha()


def test_long_writing_is_cut_by_max_tokens() -> None:
    full = respond(ask("Write a long story about a lighthouse keeper."))
    assert full.output_tokens > 300 and full.stop_reason == "end_turn"
    cut = respond(ask("Write a long story about a lighthouse keeper.", max_tokens=20))
    assert (cut.stop_reason, cut.output_tokens) == ("max_tokens", 20)
    assert full.text.startswith(cut.text)


def test_counting_and_stop_sequences() -> None:
    counted = respond(ask("Count from 1 to 200."))
    assert counted.text.endswith("199, 200") and counted.output_tokens > 200
    assert respond(ask("Count from 1 to 5, separated by spaces.")).text == "1 2 3 4 5"
    stopped = respond(ask("Count from 1 to 20.", stop=["5"]))
    assert (stopped.text, stopped.stop_reason) == ("1, 2, 3, 4, ", "stop_sequence")


WEATHER = Tool(
    "get_weather",
    "Get the current weather for a city",
    {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer"},
        },
        "required": ["city", "unit", "days"],
    },
)
CALCULATOR = Tool(
    "calculator",
    "Evaluate an arithmetic expression",
    {
        "type": "object",
        "properties": {"expression": {"type": "string"}},
        "required": ["expression"],
    },
)


def test_tool_call_fills_the_schema_from_the_prompt() -> None:
    reply = respond(
        ask(
            "What will the weather be in New York for 3 days, in fahrenheit?",
            tools=[CALCULATOR, WEATHER],
        )
    )
    assert reply.stop_reason == "tool_use" and not reply.text
    [call] = reply.tool_calls
    assert call.name == "get_weather"
    assert call.arguments == {"city": "New York", "unit": "fahrenheit", "days": 3}
    assert call.id.startswith("tooluse_")


def test_tool_choice() -> None:
    unrelated = "Tell me a joke."
    assert not respond(ask(unrelated, tools=[WEATHER])).tool_calls
    assert respond(ask(unrelated, tools=[WEATHER], tool_choice="any")).tool_calls
    forced = respond(
        ask(unrelated, tools=[WEATHER, CALCULATOR], tool_choice="tool", forced_tool="calculator")
    )
    assert forced.tool_calls[0].name == "calculator"
    assert not respond(ask("Weather in Paris?", tools=[WEATHER], tool_choice="none")).tool_calls


def test_tool_result_is_used_in_the_answer() -> None:
    conversation = Conversation(
        [
            Message("user", ["What's the weather in Paris?"]),
            Message("assistant", [ToolUse("t1", "get_weather", {"city": "Paris"})]),
            Message("user", [ToolResult("t1", "18C and sunny")]),
        ],
        tools=[WEATHER],
    )
    reply = respond(conversation)
    assert reply.stop_reason == "end_turn" and "18C and sunny" in reply.text
    assert "get_weather" in reply.text


def test_generic_answers_and_tokens_are_deterministic() -> None:
    first, second = respond(ask("Tell me about otters.")), respond(ask("Tell me about otters."))
    assert first == second and first.text
    assert first.input_tokens == 6  # ceil(len("Tell me about otters.") / 4)
    assert answer("What is the capital of France?") == "The capital of France is Paris."
