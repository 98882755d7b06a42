"""Curated capabilities by model family (`myia/data/capabilities.yaml`).

Provider listings say what goes in and out (Bedrock's modalities) but never whether a model
calls tools or answers in JSON, so discovery reads those claims from this data file. They
are claims, not facts: certification tests them and records what it verified.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from myia.errors import InvalidInputError
from myia.providers.bedrock.model_ids import split_geography


class FamilyCapabilities(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    family: str = Field(min_length=1, max_length=100)
    match: str = Field(min_length=1, description="Regex searched in the lower-cased model id")
    vision: bool | None = None
    tool_calling: bool = False
    json_output: bool = False
    max_context_window: int | None = Field(default=None, ge=1)
    max_output_tokens: int | None = Field(default=None, ge=1)

    @field_validator("match")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from exc
        return value


class CapabilityFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str
    openai_source: str | None = None
    as_of: date
    families: list[FamilyCapabilities]


class CapabilityData:
    """Families in file order; `for_model` returns the first whose pattern matches."""

    def __init__(self, families: list[FamilyCapabilities], *, as_of: date | None = None) -> None:
        self.families = families
        self.as_of = as_of
        self._compiled = [(re.compile(f.match), f) for f in families]

    def for_model(self, model_id: str) -> FamilyCapabilities | None:
        # Profile ids (`us.anthropic…`) describe the same model as the bare id.
        key = split_geography(model_id.strip().lower())[1]
        return next((family for pattern, family in self._compiled if pattern.search(key)), None)


def default_capabilities_path() -> Path:
    return Path(str(resources.files("myia") / "data" / "capabilities.yaml"))


def load_capability_data(path: Path | None = None) -> CapabilityData:
    path = path or default_capabilities_path()
    try:
        parsed = CapabilityFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise InvalidInputError("capability data", f"{path}: {exc}") from exc
    return CapabilityData(parsed.families, as_of=parsed.as_of)


@lru_cache(maxsize=1)
def default_capability_data() -> CapabilityData:
    return load_capability_data()
