"""The curated pricing file shipped with the package (`myia/data/pricing.yaml`).

Prices are data with a source and a date, never constants in code: the seed and model
discovery both read them from here, so updating a price is a one-line change to the file.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from myia.errors import InvalidInputError
from myia.providers.bedrock.model_ids import normalize_model_id

# `-v2:0`, `-v1:0:200k`, `:0`: the same model under another revision or context variant.
_VERSION_SUFFIX = re.compile(r"(?:-v\d+)?(?::[^.]*)?$")


class RegionalPrice(BaseModel):
    """A price that differs in one region (`eu-west-1`) or geography (`us`, `eu`, `apac`, …);
    without its own `source` / `as_of` it cites the entry's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0, allow_inf_nan=False)
    output: float = Field(ge=0, allow_inf_nan=False)
    source: str | None = None
    source_name: str | None = None
    as_of: date | None = None


class PriceSourceRef(BaseModel):
    """A public price page, named once in the file's `sources` and cited by its key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    url: str = Field(pattern=r"^https://", max_length=500)


class PriceEntry(BaseModel):
    """One model's price as the file states it; `source` is the page's URL once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0, allow_inf_nan=False)
    output: float = Field(ge=0, allow_inf_nan=False)
    source: str = Field(min_length=1)
    source_name: str | None = None
    as_of: date
    # Where the provider prices it differently: keyed by region or geography scope.
    regions: dict[str, RegionalPrice] = Field(default_factory=dict)
    note: str | None = None


class PricingFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = "USD"
    unit: str = "per_1m_tokens"
    sources: dict[str, PriceSourceRef] = Field(default_factory=dict)
    providers: dict[str, dict[str, PriceEntry]]

    @model_validator(mode="after")
    def _cite_sources(self) -> PricingFile:
        """A `source` is a key of `sources` or an https URL; keys become the URL and name."""
        for slug, entries in self.providers.items():
            for model_id, entry in entries.items():
                where = f"providers.{slug}.{model_id}"
                url, name = self._cited(entry.source, where)
                regions = {
                    key.lower(): self._regional(regional, entry, f"{where}.regions.{key}")
                    for key, regional in entry.regions.items()
                }
                entries[model_id] = entry.model_copy(
                    update={
                        "source": url,
                        "source_name": entry.source_name or name,
                        "regions": regions,
                    }
                )
        return self

    def _cited(self, source: str, where: str) -> tuple[str, str | None]:
        ref = self.sources.get(source)
        if ref is not None:
            return ref.url, ref.name
        if not source.startswith("https://"):
            raise ValueError(f"{where}.source: '{source}' is neither a key of `sources` nor an URL")
        return source, None

    def _regional(self, regional: RegionalPrice, entry: PriceEntry, where: str) -> RegionalPrice:
        if regional.source is None:
            url, name = entry.source, entry.source_name
            if entry.source in self.sources:
                url, name = self._cited(entry.source, where)
        else:
            url, name = self._cited(regional.source, where)
        return regional.model_copy(
            update={
                "source": url,
                "source_name": regional.source_name or name,
                "as_of": regional.as_of or entry.as_of,
            }
        )


def price_key(model_id: str) -> str:
    """`us.anthropic.claude-3-5-sonnet-20241022-v2:0` -> `anthropic.claude-3-5-sonnet-20241022`.

    A cross-region profile bills at the source region's price, so the geography prefix goes
    (through the one model-id normaliser, myia.providers.bedrock.model_ids), and so does the
    revision suffix: prices are per model, not per revision.
    """
    bare = normalize_model_id(model_id.strip()).lower()
    return _VERSION_SUFFIX.sub("", bare) or bare


class PricingTable:
    """Prices by provider slug and model id, with normalised ids indexed once."""

    def __init__(self, providers: dict[str, dict[str, PriceEntry]]) -> None:
        self.providers = providers
        self._index: dict[str, dict[str, PriceEntry]] = {}
        for slug, entries in providers.items():
            by_key = self._index.setdefault(slug.lower(), {})
            # Exact ids first, so a normalised key never shadows a listed id.
            for model_id, entry in entries.items():
                by_key.setdefault(model_id.lower(), entry)
            for model_id, entry in entries.items():
                by_key.setdefault(price_key(model_id), entry)

    def entry_for(self, provider_slug: str, model_id: str) -> PriceEntry | None:
        entries = self._index.get(provider_slug.lower())
        if not entries:
            return None
        return entries.get(model_id.strip().lower()) or entries.get(price_key(model_id))

    def price_for(self, provider_slug: str, model_id: str) -> tuple[float, float] | None:
        """(input, output) USD per 1M tokens, or None when the file has no price for it."""
        entry = self.entry_for(provider_slug, model_id)
        return None if entry is None else (entry.input, entry.output)


def default_pricing_path() -> Path:
    return Path(str(resources.files("myia") / "data" / "pricing.yaml"))


def load_pricing(path: Path | None = None) -> PricingTable:
    path = path or default_pricing_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        parsed = PricingFile.model_validate(raw)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise InvalidInputError("pricing file", f"{path}: {exc}") from exc
    return PricingTable(providers=parsed.providers)


@lru_cache(maxsize=1)
def default_pricing() -> PricingTable:
    return load_pricing()


def price_for(provider_slug: str, model_id: str) -> tuple[float, float] | None:
    """Price of `model_id` on `provider_slug` from the shipped pricing file."""
    return default_pricing().price_for(provider_slug, model_id)
