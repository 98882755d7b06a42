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
from myia.certification.structured import (
    DEEP_CASES,
    DEFAULT_CASES,
    SCHEMA_MAX_OUT,
    STRUCTURED_OUTPUT,
    run_schema_battery,
)
from myia.certification.toolcalls import DEEP_PROMPTS, DEFAULT_PROMPTS, TOOL_MAX_OUT, run_battery
from myia.db.enums import AuthType
from myia.providers.errors import ErrorCategory, ProviderError
from myia.providers.types import (
    ChatMessage,
    ImagePart,
    StopReason,
    TextPart,
    ToolChoiceTool,
    ToolSpec,
)

# Capability names as the catalog stores them (base model / deployment `capabilities`).
STREAMING = "streaming"
VISION = "vision"
TOOL_CALLING = "tool_calling"
JSON_OUTPUT = "json_output"
CAPABILITIES = (STREAMING, VISION, TOOL_CALLING, JSON_OUTPUT, STRUCTURED_OUTPUT)

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
    # The catalog claim that decides whether the test runs, when it is not `capability`:
    # structured output is measured wherever JSON output is claimed.
    claim: str | None = None
    # False: measured for routing only. Structured output is no catalog claim, so a model
    # without it is not a mismatch; it is only never sent a request that asks for a schema.
    scored: bool = True
    # The most one sample can spend: `calls` provider calls, each at most `max_out` output
    # tokens (what `myia.certification.spend` budgets an item at before it starts).
    calls: int = 1
    max_out: int = 50


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


def structured_output(size: int) -> TestFn:
    async def run(probe: Probe, rng: random.Random) -> Check:
        result = await run_schema_battery(probe, rng, size=size)
        return Check(result.passed, result.detail(), figures=result.figures())

    return run


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


JSON_TOOL = "record_answer"


def _json_schema(keys: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {k: {"type": ["string", "number", "integer", "boolean"]} for k in keys},
        "required": keys,
    }


def _uses_converse(probe: Probe) -> bool:
    return probe.adapter.connection.auth_type is AuthType.AWS_CREDENTIALS


async def _structured(probe: Probe, prompt: str, schema: dict[str, Any]) -> Any:
    """The answer in the provider's structured-output mode: a forced tool on Bedrock,
    `response_format: json_schema` elsewhere. Raises ProviderError when the mode is refused."""
    message = [ChatMessage.user(prompt)]
    if _uses_converse(probe):
        response = await probe.chat(
            messages=message,
            tools=[
                ToolSpec(name=JSON_TOOL, description="Record the JSON answer.", input_schema=schema)
            ],
            tool_choice=ToolChoiceTool(name=JSON_TOOL),
            max_tokens=200,
        )
        call = next((c for c in response.tool_calls if c.name == JSON_TOOL), None)
        if call is not None:
            return call.raw_arguments if call.raw_arguments is not None else call.arguments
        text = response.text
    else:
        response = await probe.chat(messages=message, json_schema=schema, max_tokens=200)
        text = response.text
    return _parse_json(text)


def _parse_json(text: str) -> Any:
    stripped = text.strip()
    match = re.search(r"\{.*\}", stripped, re.DOTALL)
    try:
        return json.loads(match.group(0) if match else stripped)
    except ValueError:
        return stripped  # not JSON: validation reports it


async def json_output(probe: Probe, rng: random.Random) -> Check:
    """Structured output where the provider has it, validated against a JSON schema.

    A deployment whose provider refuses the mode (a Bedrock model without tool use, an
    OpenAI-compatible server without `response_format`) is asked in plain words instead."""
    keys = rng.sample(["name", "age", "city", "colour", "score"], 3)
    quoted = ", ".join(f'"{k}"' for k in keys)
    prompt = f"Respond only with a JSON object with the keys {quoted}."
    schema = _json_schema(keys)
    mode = "structured"
    try:
        parsed = await _structured(probe, prompt, schema)
    except ProviderError as exc:
        if exc.category is not ErrorCategory.VALIDATION:
            raise
        mode = "prompted"
        response = await probe.chat(messages=[ChatMessage.user(prompt)], max_tokens=200)
        parsed = _parse_json(response.text)
    if isinstance(parsed, str):
        return Check(False, f"{mode}: not a JSON object: {parsed[:120]!r}")
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(parsed)]
    shown = sorted(parsed) if isinstance(parsed, dict) else type(parsed).__name__
    return Check(not errors, f"{mode}: keys {shown}" + (f"; {errors[0]}" if errors else ""))


MAX_TOKENS_LIMIT = 20


async def max_tokens(probe: Probe, rng: random.Random) -> Check:
    limit = rng.randint(10, MAX_TOKENS_LIMIT)
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
    schemas = DEEP_CASES if deep else DEFAULT_CASES
    return (
        CertTest("basic_completion", None, "arithmetic with a checkable answer", basic_completion),
        CertTest("system_prompt", None, "follows a system instruction", system_prompt),
        CertTest("multi_turn", None, "remembers an earlier turn", multi_turn),
        CertTest(
            "max_tokens",
            None,
            "stops at max tokens with stop reason length",
            max_tokens,
            max_out=MAX_TOKENS_LIMIT,
        ),
        CertTest(
            "streaming", STREAMING, "chunks arrive; time to first token", streaming, max_out=200
        ),
        CertTest(
            "tool_calling",
            TOOL_CALLING,
            f"{prompts} prompts: arguments valid against the schema, called only when fitting",
            tool_calling(prompts),
            samples=1,
            calls=prompts,
            max_out=TOOL_MAX_OUT,
        ),
        CertTest("vision", VISION, "names the colour of a generated image", vision, max_out=20),
        # Structured first, then in plain words when the provider refuses the mode: 2 calls.
        CertTest(
            "json_output",
            JSON_OUTPUT,
            "answers JSON valid against a schema",
            json_output,
            calls=2,
            max_out=200,
        ),
        CertTest(
            "structured_output",
            STRUCTURED_OUTPUT,
            f"{schemas} schemas asked as the response format: answers parse and validate",
            structured_output(schemas),
            samples=1,
            claim=JSON_OUTPUT,
            scored=False,
            calls=schemas,
            max_out=SCHEMA_MAX_OUT,
        ),
    )


DEFAULT_SUITE: tuple[CertTest, ...] = build_suite()
