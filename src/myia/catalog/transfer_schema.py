"""The catalog file (`myia catalog export` / `import`): its shape, its bounds, and YAML in/out.

One entry per row, named by natural keys only (provider slug; base model name; provider slug
plus the provider's deployment id), never by database ids, so a file moves between
installations. Each entry is validated by the API's own input schemas (catalog/schemas.py):
what the API refuses, an import refuses, by entry and field. docs/catalog.md documents the
format field by field.

Nothing secret is in the format: providers hold no credentials (those are users' BYOK rows,
encrypted, in `user_provider_credentials`, which the export never reads).
"""

from __future__ import annotations

from typing import Annotated, Any

import yaml
from pydantic import Field, ValidationError, model_validator

from myia.catalog.params import CallParams
from myia.catalog.price_history import MAX_REGION_LENGTH
from myia.catalog.schemas import (
    SLUG_PATTERN,
    BaseModelCreate,
    DeploymentBase,
    ProviderCreate,
    _as_of,
    _cost,
    _source_name,
    _source_url,
)
from myia.db.enums import PriceSourceKind
from myia.errors import InvalidInputError
from myia.validation import ByValue, IsoDate, StrictInput

FORMAT_VERSION = 1
SECTIONS = ("providers", "base_models", "deployments")

# Bounds of one file: a whole real catalog (a few hundred deployments per provider and region
# set) fits with a wide margin; past them the import refuses before parsing further.
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_ENTRIES = {"providers": 200, "base_models": 10_000, "deployments": 20_000}
MAX_REGIONAL_PRICES = 64
# Problems listed at most per refused file (the count is always given).
MAX_LISTED_PROBLEMS = 50

_PRICE_FIELDS = ("cost_per_1m_input", "cost_per_1m_output", "cost_per_hour")
_SOURCE_FIELDS = ("price_source_kind", "price_source_name", "price_source_url", "price_as_of")


class ProviderEntry(ProviderCreate):
    """A provider: exactly the API's create body (no secret among its fields)."""


class BaseModelEntry(BaseModelCreate):
    """A base model: exactly the API's create body; `name` is its key."""


class RegionalPriceEntry(StrictInput):
    """A deployment's price in one region (`eu-west-1`) or geography (`eu`)."""

    region: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=MAX_REGION_LENGTH)
    cost_per_1m_input: float = _cost()
    cost_per_1m_output: float = _cost()
    price_source_kind: Annotated[PriceSourceKind, ByValue] | None = None
    price_source_name: str | None = _source_name()
    price_source_url: str | None = _source_url()
    price_as_of: IsoDate | None = _as_of()


class DeploymentEntry(DeploymentBase, StrictInput):
    """A deployment: the API's fields, with the provider and base model by natural key."""

    provider: str = Field(pattern=SLUG_PATTERN, description="The provider's slug")
    # Optional here so an entry can update a stored deployment partly; a new deployment must
    # still state both, null for unknown, as the API's create does (checked by the planner).
    cost_per_1m_input: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    cost_per_1m_output: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    base_model: str = Field(min_length=1, max_length=200, description="The base model's name")
    custom_params: CallParams | None = None
    regional_prices: list[RegionalPriceEntry] | None = Field(
        default=None, max_length=MAX_REGIONAL_PRICES
    )

    @model_validator(mode="after")
    def _source_needs_price(self) -> DeploymentEntry:
        # The API's rule (catalog/deployments.py): a source with nothing to cite is refused.
        priced = any(getattr(self, name) is not None for name in _PRICE_FIELDS)
        if not priced and any(getattr(self, name) is not None for name in _SOURCE_FIELDS):
            raise ValueError("price_source_kind: a price source needs a price")
        regions = [item.region for item in self.regional_prices or []]
        if len(set(regions)) != len(regions):
            raise ValueError("regional_prices: a region is listed twice")
        return self

    def price_sent(self) -> bool:
        return any(name in self.model_fields_set for name in (*_PRICE_FIELDS, *_SOURCE_FIELDS))


ENTRY_MODELS: dict[str, type[StrictInput]] = {
    "providers": ProviderEntry,
    "base_models": BaseModelEntry,
    "deployments": DeploymentEntry,
}


# --- YAML -----------------------------------------------------------------------------------
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc]
    """Safe YAML whose dates stay strings: the schemas read `2026-12-04` as the JSON API does
    (an ISO string), not as a Python date YAML would make of it."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Dumper(yaml.SafeDumper):
    """Always the pure-Python emitter (the same bytes whether libyaml is installed or not),
    never an alias (`&id001`): every entry reads on its own."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # The emitter may write a plain or single-quoted scalar holding a character the reader
    # then folds or drops (NEL U+0085 read back as a space, for one): anything unprintable
    # but a newline goes double-quoted, where it is escaped.
    unusual = any(ch != "\n" and not ch.isprintable() for ch in data)
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"' if unusual else None)


_Dumper.add_representer(str, _represent_str)


# Static, so that the same catalog still gives the same bytes.
FILE_HEADER = "# MyIA catalog file: `myia catalog import` reads it; the format is docs/catalog.md\n"


def dump_yaml(document: dict[str, Any]) -> str:
    return FILE_HEADER + yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )


def load_yaml(text: str | bytes) -> Any:
    """The decoded document; aliases are refused (a few lines of them expand to gigabytes)."""
    size = len(text.encode() if isinstance(text, str) else text)
    if size > MAX_FILE_BYTES:
        raise InvalidInputError(
            "file", f"is {size} bytes; a catalog file is at most {MAX_FILE_BYTES} bytes"
        )
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent):
                raise InvalidInputError("file", "YAML aliases (*name) are not allowed")
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise InvalidInputError("file", f"{problem}{where}") from None


# --- validation -----------------------------------------------------------------------------
def entry_label(section: str, index: int, raw: Any) -> str:
    """`deployments[12] (bedrock/us.anthropic…)`: where an entry is and what it names."""
    key: str | None = None
    if isinstance(raw, dict):
        if section == "providers":
            key = raw.get("slug") if isinstance(raw.get("slug"), str) else None
        elif section == "base_models":
            key = raw.get("name") if isinstance(raw.get("name"), str) else None
        elif isinstance(raw.get("provider"), str) and isinstance(raw.get("deployment_id"), str):
            key = f"{raw['provider']}/{raw['deployment_id']}"
    if key is None:
        return f"{section}[{index}]"
    shown = key if len(key) <= 80 else key[:79] + "…"
    # A key with a newline or control character would forge a line of its own.
    return f"{section}[{index}] ({shown if shown.isprintable() else repr(shown)})"


def _problems(error: ValidationError) -> list[str]:
    found = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        found.append(f"{where}: {message}" if where else message)
    return found


class CatalogFileError(InvalidInputError):
    """The file is refused: every problem found, each naming its entry and field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        listed = problems[:MAX_LISTED_PROBLEMS]
        more = len(problems) - len(listed)
        text = "; ".join(listed) + (f"; and {more} more" if more > 0 else "")
        super().__init__("file", f"{len(problems)} invalid: {text}")


def parse_document(document: Any) -> dict[str, list[Any]]:
    """Validate a decoded file entry by entry; every problem is collected before refusing."""
    if not isinstance(document, dict):
        raise CatalogFileError(["the file must be a mapping with version, providers, …"])
    problems: list[str] = []
    unknown = sorted(str(key) for key in document if key not in (*SECTIONS, "version"))
    if unknown:
        problems.append(f"unknown top-level key(s): {', '.join(unknown)}")
    version = document.get("version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        problems.append(f"version: must be {FORMAT_VERSION} (found {version!r})")
    parsed: dict[str, list[Any]] = {}
    for section in SECTIONS:
        raw_items = document.get(section) or []
        if not isinstance(raw_items, list):
            problems.append(f"{section}: must be a list")
            continue
        if len(raw_items) > MAX_ENTRIES[section]:
            problems.append(
                f"{section}: {len(raw_items)} entries; at most {MAX_ENTRIES[section]} per file"
            )
            continue
        parsed[section] = []
        for index, raw in enumerate(raw_items):
            try:
                parsed[section].append(ENTRY_MODELS[section].model_validate(raw))
            except ValidationError as exc:
                label = entry_label(section, index, raw)
                problems.extend(f"{label}: {problem}" for problem in _problems(exc))
    if problems:
        raise CatalogFileError(problems)
    return parsed
