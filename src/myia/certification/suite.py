"""The certification suite: small tests, each a name, a capability, a prompt and a checker.

Answers are randomised per run (numbers, words, colours, cities) so that a provider — or a
simulator — cannot pass by returning a canned string. Tool calling is measured by a battery
of prompts (`toolcalls.py`) rather than one call; `build_suite(deep=True)` makes it longer.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from myia.certification.images import COLOURS, solid_png
from myia.certification.probe import Probe
from myia.certification.toolcalls import DEEP_PROMPTS, DEFAULT_PROMPTS, run_battery
from myia.providers.types import (
    ChatMessage,
    ImagePart,
    StopReason,
    TextPart,
)

# Capability names as the catalog stores them (base model / deployment `capabilities`).
STREAMING = "streaming"
VISION = "vision"
TOOL_CALLING = "tool_calling"
JSON_OUTPUT = "json_output"
CAPABILITIES = (STREAMING, VISION, TOOL_CALLING, JSON_OUTPUT)

WORDS = ("lighthouse", "marmalade", "quasar", "tangerine", "harbour", "juniper", "zeppelin")
CITIES = ("Lisbon", "Porto", "Madrid", "Oslo", "Dublin", "Vienna", "Prague")


@dataclass(frozen=True)
class Check:
    passed: bool
    detail: str
    time_to_first_token_ms: float | None = None
    # Measurements a test reports beside its verdict (the tool battery's accuracy and F1).
    figures: dict[str, Any] | None = None


TestFn = Callable[[Probe, random.Random], Awaitable[Check]]


@dataclass(frozen=True)
class CertTest:
    name: str
    capability: str | None  # None: a core test every deployment must pass
    description: str
    run: TestFn
    # How many times a failed check may be asked (majority decides); None: the runner's
    # default. The tool battery is itself many samples, so it is asked once.
    samples: int | None = None


def _contains(text: str, expected: str) -> Check:
    ok = expected.lower() in text.lower()
    return Check(ok, f"expected {expected!r}, got {text.strip()[:120]!r}")


async def basic_completion(probe: Probe, rng: random.Random) -> Check:
    a, b = rng.randint(11, 99), rng.randint(11, 99)
    response = await probe.chat(
        messages=[ChatMessage.user(f"What is {a} + {b}? Answer with only the number.")],
        max_tokens=50,
    )
    return _contains(response.text, str(a + b))


async def system_prompt(probe: Probe, rng: random.Random) -> Check:
    phrase = f"{rng.choice(WORDS)} {rng.choice(WORDS)}"
    response = await probe.chat(
        system="Always answer in uppercase.",
        messages=[ChatMessage.user(f"Reply with exactly: {phrase}")],
        max_tokens=50,
    )
    return Check(
        phrase.upper() in response.text,
        f"expected {phrase.upper()!r}, got {response.text.strip()[:120]!r}",
    )


async def multi_turn(probe: Probe, rng: random.Random) -> Check:
    word = rng.choice(WORDS)
    response = await probe.chat(
        messages=[
            ChatMessage.user(f"Remember the code word: {word}."),
            ChatMessage.assistant("Understood, I will remember it."),
            ChatMessage.user("What is the code word? Answer with only the word."),
        ],
        max_tokens=50,
    )
    return _contains(response.text, word)


async def streaming(probe: Probe, rng: random.Random) -> Check:
    n = rng.randint(8, 15)
    result = await probe.stream(
        messages=[ChatMessage.user(f"Count from 1 to {n}, separated by spaces.")], max_tokens=200
    )
    ttft = result.time_to_first_token_ms
    ok = result.deltas >= 2 and result.end.usage.output_tokens > 0 and str(n) in result.text
    return Check(ok, f"{result.deltas} chunks, ttft {ttft} ms, text {result.text[:80]!r}", ttft)


def tool_calling(size: int) -> TestFn:
    async def run(probe: Probe, rng: random.Random) -> Check:
        result = await run_battery(probe, rng, size=size)
        return Check(result.passed, result.detail(), figures=result.figures())

    return run


async def vision(probe: Probe, rng: random.Random) -> Check:
    name = rng.choice(sorted(COLOURS))
    response = await probe.chat(
        messages=[
            ChatMessage(
                role="user",
                content=[
                    ImagePart(format="png", data=solid_png(COLOURS[name])),
                    TextPart(text="What colour is this image? Answer with one word."),
                ],
            )
        ],
        max_tokens=20,
    )
    return _contains(response.text, name)


async def json_output(probe: Probe, rng: random.Random) -> Check:
    keys = rng.sample(["name", "age", "city", "colour", "score"], 3)
    quoted = ", ".join(f'"{k}"' for k in keys)
    schema = {"type": "object", "required": keys, "properties": {k: {} for k in keys}}
    response = await probe.chat(
        messages=[ChatMessage.user(f"Respond only with a JSON object with the keys {quoted}.")],
        max_tokens=200,
    )
    text = response.text.strip()
    match = re.search(r"\{.*\}", text, re.DOTALL)
    try:
        parsed = json.loads(match.group(0) if match else text)
    except ValueError:
        return Check(False, f"not JSON: {text[:120]!r}")
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(parsed)]
    shown = sorted(parsed) if isinstance(parsed, dict) else type(parsed).__name__
    return Check(not errors, f"keys {shown}" + (f"; {errors[0]}" if errors else ""))


async def max_tokens(probe: Probe, rng: random.Random) -> Check:
    limit = rng.randint(10, 20)
    response = await probe.chat(
        messages=[ChatMessage.user(f"Write a long story about a {rng.choice(WORDS)}.")],
        max_tokens=limit,
    )
    ok = response.stop_reason is StopReason.MAX_TOKENS and response.usage.output_tokens <= limit
    return Check(
        ok,
        f"stop {response.stop_reason.value}, {response.usage.output_tokens} tokens for max {limit}",
    )


def build_suite(*, deep: bool = False) -> tuple[CertTest, ...]:
    """The suite; `deep` runs the long tool battery (`myia certify --deep`)."""
    prompts = DEEP_PROMPTS if deep else DEFAULT_PROMPTS
    return (
        CertTest("basic_completion", None, "arithmetic with a checkable answer", basic_completion),
        CertTest("system_prompt", None, "follows a system instruction", system_prompt),
        CertTest("multi_turn", None, "remembers an earlier turn", multi_turn),
        CertTest("max_tokens", None, "stops at max tokens with stop reason length", max_tokens),
        CertTest("streaming", STREAMING, "chunks arrive; time to first token", streaming),
        CertTest(
            "tool_calling",
            TOOL_CALLING,
            f"{prompts} prompts: arguments valid against the schema, called only when fitting",
            tool_calling(prompts),
            samples=1,
        ),
        CertTest("vision", VISION, "names the colour of a generated image", vision),
        CertTest("json_output", JSON_OUTPUT, "answers JSON valid against a schema", json_output),
    )


DEFAULT_SUITE: tuple[CertTest, ...] = build_suite()
