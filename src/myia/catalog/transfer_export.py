"""`myia catalog export`: the catalog as one deterministic YAML file.

Same catalog, same bytes: entries sorted by natural key, fields in a fixed order, JSON fields'
keys sorted (PostgreSQL's JSONB reorders them, SQLite keeps them as written), no database id,
no timestamp of the export itself. The format is `transfer_schema`'s (docs/catalog.md).

Secrets stay out. Providers have none among their columns; users' credentials live encrypted
in `user_provider_credentials`, which is never read here. Two free-form places could still
hold one by an operator's mistake, and are checked: a provider's `base_url` (user:password@
or a secret-named query parameter) and a deployment's `provider_config` (a secret-named key, a
value shaped like a key or token). What is found is left out of the file and named in
`ExportResult.left_out`, never written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.catalog.schemas import Capabilities, CapabilitiesOverride, stored_capabilities
from myia.catalog.transfer_schema import FORMAT_VERSION, dump_yaml
from myia.db.models import BaseModel, DeploymentPrice, ModelDeployment, Provider
from myia.observability.redaction import is_secret_key, redact_text

_KNOWN_OVERRIDES = tuple(CapabilitiesOverride.model_fields)


@dataclass
class ExportResult:
    text: str
    counts: dict[str, int]
    # "providers[bedrock].base_url: credentials in the URL" — what was kept out, and where.
    left_out: list[str] = field(default_factory=list)


def _scalar(value: Any) -> Any:
    """A value as the file writes it: enums by value, dates and date-times as ISO strings."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "value") and isinstance(value.value, str):  # a StrEnum member
        return value.value
    return value


def _sorted_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _sorted_json(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [_sorted_json(item) for item in value]
    return value


def _secret_free_json(value: Any, where: str, left_out: list[str], key: str | None = None) -> Any:
    """`value` without what looks secret (the log redaction's rules); `_DROP` for a value to
    leave out whole."""
    if (
        key is not None
        and is_secret_key(key)
        and value not in (None, "")
        and not isinstance(value, bool | int | float)
    ):
        left_out.append(f"{where}: a secret-named key")
        return _DROP
    if isinstance(value, dict):
        kept = {}
        for k, item in value.items():
            cleaned = _secret_free_json(item, f"{where}.{k}", left_out, str(k))
            if cleaned is not _DROP:
                kept[k] = cleaned
        return kept
    if isinstance(value, list):
        items = [_secret_free_json(item, f"{where}[{i}]", left_out) for i, item in enumerate(value)]
        return [item for item in items if item is not _DROP]
    if isinstance(value, str) and redact_text(value) != value:
        left_out.append(f"{where}: a value shaped like a secret")
        return _DROP
    return value


_DROP = object()


def _secret_free_url(url: str | None, where: str, left_out: list[str]) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = netloc.rsplit("@", 1)[1]
        left_out.append(f"{where}: credentials in the URL (user:password@)")
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in query if not (is_secret_key(k) and v)]
    if len(kept) != len(query):
        left_out.append(f"{where}: a secret-named query parameter")
    if netloc == parts.netloc and len(kept) == len(query):
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(kept)))


def _provider(row: Provider, left_out: list[str]) -> dict[str, Any]:
    return {
        "slug": row.slug,
        "name": row.name,
        "base_url": _secret_free_url(row.base_url, f"providers[{row.slug}].base_url", left_out),
        "auth_type": _scalar(row.auth_type),
        "is_simulated": row.is_simulated,
        "is_active": row.is_active,
    }


def _base_model(row: BaseModel) -> dict[str, Any]:
    return {
        "name": row.name,
        "vendor": row.vendor,
        "family": row.family,
        "version": row.version,
        "capabilities": Capabilities.model_validate(
            stored_capabilities(row.capabilities)
        ).model_dump(),
        "default_params": _sorted_json(row.default_params),
        "description": row.description,
        "release_date": _scalar(row.release_date),
        "deprecated": row.deprecated,
        "replaced_by": row.replaced_by,
    }


def _regional(row: DeploymentPrice) -> dict[str, Any]:
    return {
        "region": row.region,
        "cost_per_1m_input": row.cost_per_1m_input,
        "cost_per_1m_output": row.cost_per_1m_output,
        "price_source_kind": _scalar(row.source_kind),
        "price_source_name": row.source_name,
        "price_source_url": row.source_url,
        "price_as_of": _scalar(row.as_of),
    }


def _deployment(
    row: ModelDeployment,
    slug: str,
    model_name: str,
    regional: list[DeploymentPrice],
    left_out: list[str],
) -> dict[str, Any]:
    where = f"deployments[{slug}/{row.deployment_id}]"
    config = row.provider_config
    if config is not None:
        config = _sorted_json(_secret_free_json(config, f"{where}.provider_config", left_out))
    override = {
        k: (row.capabilities or {})[k]
        for k in _KNOWN_OVERRIDES
        if (row.capabilities or {}).get(k) is not None
    }
    return {
        "provider": slug,
        "deployment_id": row.deployment_id,
        "base_model": model_name,
        "inference_type": _scalar(row.inference_type),
        "provider_config": config,
        "cost_per_1m_input": row.cost_per_1m_input,
        "cost_per_1m_output": row.cost_per_1m_output,
        "cost_per_hour": row.cost_per_hour,
        "price_source_kind": _scalar(row.price_source_kind),
        "price_source_name": row.price_source_name,
        "price_source_url": row.price_source_url,
        "price_as_of": _scalar(row.price_as_of),
        "regional_prices": [_regional(price) for price in regional],
        "custom_params": _sorted_json(row.custom_params),
        "capabilities": override or None,
        "capabilities_verified_at": _scalar(row.capabilities_verified_at),
        "capabilities_source": _scalar(row.capabilities_source),
        "is_active": row.is_active,
    }


async def export_catalog(*, session: AsyncSession) -> ExportResult:
    """The whole catalog as the file's text (four queries; sorted here, not by the
    database, whose collation differs between backends)."""
    left_out: list[str] = []
    providers = sorted((await session.scalars(select(Provider))).all(), key=lambda p: p.slug)
    models = sorted((await session.scalars(select(BaseModel))).all(), key=lambda m: m.name)
    slugs = {p.id: p.slug for p in providers}
    names = {m.id: m.name for m in models}
    regional: dict[str, list[DeploymentPrice]] = {}
    for price in await session.scalars(select(DeploymentPrice)):
        regional.setdefault(price.deployment_id, []).append(price)
    deployments = sorted(
        (await session.scalars(select(ModelDeployment))).all(),
        key=lambda d: (slugs[d.provider_id], d.deployment_id),
    )
    document: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "providers": [_provider(row, left_out) for row in providers],
        "base_models": [_base_model(row) for row in models],
        "deployments": [
            _deployment(
                row,
                slugs[row.provider_id],
                names[row.base_model_id],
                sorted(regional.get(row.id, []), key=lambda p: p.region),
                left_out,
            )
            for row in deployments
        ],
    }
    counts = {name: len(document[name]) for name in ("providers", "base_models", "deployments")}
    return ExportResult(text=dump_yaml(document), counts=counts, left_out=left_out)
