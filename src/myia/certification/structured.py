"""The structured-output battery: how often a deployment's answers obey an asked JSON schema.

What the gateway does with `response_format: json_schema` is what this measures: each case
is a `ChatRequest` with `json_schema` (and its name), sent through the adapter the gateway
uses — `response_format` on OpenAI-compatible upstreams, Bedrock's native `outputConfig` or
a forced answer tool on Bedrock (`myia.providers.bedrock.structured`). The schemas are the
tool battery's (`toolcalls.TEMPLATES`): nested objects, arrays, enums, ranges, required and
optional fields. Schema adherence = answers whose text parses as JSON and validates
(`jsonschema`, draft 2020-12) ÷ cases; the capability `structured_output` passes at
`MIN_ADHERENCE`. A provider that refuses the mode (HTTP 400) fails it outright.
Default: 6 cases; deep: 18.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from myia.certification.probe import Probe
from myia.certification.toolcalls import TEMPLATES
from myia.providers.errors import ErrorCategory, ProviderError
from myia.providers.types import ChatMessage

STRUCTURED_OUTPUT = "structured_output"
MIN_ADHERENCE = 0.90
DEFAULT_CASES = 6
DEEP_CASES = 18
SCHEMA_MAX_OUT = 300  # output tokens allowed per schema case


@dataclass(frozen=True)
class SchemaCase:
    name: str
    prompt: str
    schema: dict[str, Any]


def schema_battery(rng: random.Random, *, size: int = DEFAULT_CASES) -> list[SchemaCase]:
    """`size` cases cycling the tool battery's templates: its expected tool's schema, asked
    for as the answer."""
    cases = []
    for index in range(size):
        case = TEMPLATES[index % len(TEMPLATES)](rng)
        tool = next(t for t in case.tools if t.name == case.expected)
        prompt = f"Reply with the {tool.name} JSON object for this request. {case.prompt}"
        cases.append(SchemaCase(tool.name, prompt, tool.input_schema))
    return cases


def answer_errors(text: str, schema: dict[str, Any]) -> list[str]:
    """Why an answer's text is not a JSON value valid against `schema` (empty when it is)."""
    try:
        value = json.loads(text)
    except ValueError:
        return [f"not JSON: {text.strip()[:60]!r}"]
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in Draft202012Validator(schema).iter_errors(value)
    ]


@dataclass
class SchemaBatteryResult:
    cases: int = 0
    valid: int = 0
    refused: str | None = None
    first_invalid: str | None = None

    @property
    def adherence(self) -> float | None:
        return round(self.valid / self.cases, 4) if self.cases else None

    @property
    def passed(self) -> bool:
        return self.refused is None and (self.adherence or 0.0) >= MIN_ADHERENCE

    def record(self, case: SchemaCase, text: str) -> None:
        self.cases += 1
        errors = answer_errors(text, case.schema)
        if errors:
            self.first_invalid = self.first_invalid or f"{case.name}: {errors[0]}"
        else:
            self.valid += 1

    def figures(self) -> dict[str, Any]:
        return {
            "structured_cases": self.cases,
            "structured_valid": self.valid,
            "structured_adherence": self.adherence,
        }

    def detail(self) -> str:
        if self.refused is not None:
            return f"structured output refused by the provider: {self.refused}"
        shown = "n/a" if self.adherence is None else f"{self.adherence:.0%}"
        text = (
            f"schema adherence {shown} ({self.valid}/{self.cases} answers valid, "
            f"min {MIN_ADHERENCE:.0%})"
        )
        return f"{text}; first invalid: {self.first_invalid}" if self.first_invalid else text


async def run_schema_battery(probe: Probe, rng: random.Random, *, size: int) -> SchemaBatteryResult:
    result = SchemaBatteryResult()
    for case in schema_battery(rng, size=size):
        try:
            response = await probe.chat(
                messages=[ChatMessage.user(case.prompt)],
                json_schema=case.schema,
                schema_name=case.name,
                max_tokens=SCHEMA_MAX_OUT,
            )
        except ProviderError as exc:
            if exc.category is not ErrorCategory.VALIDATION:
                raise  # throttling, outages: the runner's business, not a verdict
            result.refused = exc.message[:200]
            return result
        result.record(case, response.text)
    return result
