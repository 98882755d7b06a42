"""The admin catalog editor's forms (issue 27): posted fields turned into the API's own input
shapes (catalog/schemas.py validates them, as it does an API body), and stored rows turned
into what the forms show.

A form field holds text; these helpers give pydantic the Python type each field has in a JSON
body (a number, a boolean, an object), or leave the text as it was typed when it is not one, so
pydantic's strict check refuses it under the field's own name. JSON text areas are parsed here
and refused by name when they are not a JSON object.

Stored secrets are never shown: a `provider_config` key named like a secret (or a value shaped
like a key) and credentials in a provider's URL are masked in the form; posting the masked
text back unchanged keeps what is stored, and a masked value typed into a changed field is
refused by name rather than stored as asterisks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import ValidationError
from starlette.datastructures import FormData

from myia.catalog.schemas import (
    CAPABILITY_FLAGS,
    CAPABILITY_LIMITS,
    BaseModelDetail,
    DeploymentPublic,
    ProviderPublic,
)
from myia.observability.redaction import MASK, is_secret_key, redact
from myia.web.forms import checkbox

BASE_MODEL_TEXT = ("name", "vendor", "family", "version", "description", "release_date")
BASE_MODEL_FIELDS = (*BASE_MODEL_TEXT, "replaced_by", "default_params")
PRICE_FIELDS = ("cost_per_1m_input", "cost_per_1m_output", "cost_per_hour")
SOURCE_FIELDS = ("price_source_kind", "price_source_name", "price_source_url")
DEPLOYMENT_TEXT = (
    "base_model_id",
    "provider_id",
    "deployment_id",
    "inference_type",
    *PRICE_FIELDS,
    *SOURCE_FIELDS,
    "price_as_of",
    "provider_config",
    "custom_params",
)
PROVIDER_TEXT = ("slug", "name", "base_url", "auth_type")
# A deployment's capability override per flag: as its base model, or stated.
OVERRIDE_CHOICES = (("", "as the base model"), ("yes", "yes"), ("no", "no"))
_MASKED = "Holds a masked secret (***): type the whole value again, or remove it"


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _optional(form: FormData, name: str) -> str | None:
    return _text(form, name) or None


def _number(form: FormData, name: str, kind: type[int] | type[float]) -> Any:
    """The number typed, None when empty, the text itself when it is not a number."""
    raw = _text(form, name)
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError:
        return raw


def _json_object(form: FormData, name: str, errors: dict[str, str]) -> dict[str, Any] | None:
    raw = _text(form, name)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        errors[name] = f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        return None
    if not isinstance(value, dict):
        errors[name] = 'Must be a JSON object, like {"temperature": 0.7}'
        return None
    return value


def _holds_mask(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_holds_mask(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_mask(v) for v in value)
    return isinstance(value, str) and MASK in value


def schema_errors(exc: ValidationError) -> dict[str, str]:
    """{form field: message}; a capability is its own field on the forms."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        name = loc[1] if len(loc) > 1 and loc[0] == "capabilities" else (loc[0] if loc else "form")
        message = str(error["msg"]).removeprefix("Value error, ")
        errors.setdefault(name, message[:1].upper() + message[1:])
    return errors


# --- what the forms show ------------------------------------------------------------------
def shown_json(value: Mapping[str, Any] | None, *, masked: bool = True) -> str:
    """A JSON field as its text area shows it, secrets masked (`provider_config`; call
    parameters hold only the four checked keys, shown as stored)."""
    if not value:
        return ""
    return json.dumps(redact(dict(value)) if masked else dict(value), indent=2, sort_keys=True)


def shown_url(url: str | None) -> str:
    """A provider URL without what would be a secret in it (user:password@, a secret-named
    query parameter)."""
    if not url:
        return ""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = parse_qsl(parts.query, keep_blank_values=True)
    masked = [(k, MASK if is_secret_key(k) and v else v) for k, v in query]
    if netloc == parts.netloc and masked == query:
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(masked, safe="*")))


def _number_text(value: float | int | None) -> str:
    """A stored number as typed (10, 0.25), never rounded: an unchanged form sends it back."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _date_text(value: datetime | None) -> str:
    """A date-time as its field shows it: the day alone at midnight UTC, else in full (an
    unchanged form must not move it)."""
    if value is None:
        return ""
    if value.timetz() == time(0, tzinfo=UTC):
        return value.date().isoformat()
    return value.isoformat().replace("+00:00", "Z")


def base_model_shown(model: BaseModelDetail | None) -> dict[str, Any]:
    if model is None:
        return {"capabilities": {}}
    caps = model.capabilities
    return {
        "name": model.name,
        "vendor": model.vendor,
        "family": model.family or "",
        "version": model.version or "",
        "description": model.description or "",
        "release_date": _date_text(model.release_date),
        "replaced_by": model.replaced_by or "",
        "deprecated": model.deprecated,
        "default_params": shown_json(model.default_params, masked=False),
        "capabilities": {
            **{flag: getattr(caps, flag) for flag in CAPABILITY_FLAGS},
            **{limit: _number_text(getattr(caps, limit)) for limit in CAPABILITY_LIMITS},
        },
    }


def deployment_shown(deployment: DeploymentPublic) -> dict[str, Any]:
    override = deployment.capabilities
    capabilities: dict[str, Any] = {}
    for flag in CAPABILITY_FLAGS:
        stated = getattr(override, flag) if override else None
        capabilities[flag] = "" if stated is None else ("yes" if stated else "no")
    for limit in CAPABILITY_LIMITS:
        capabilities[limit] = _number_text(getattr(override, limit) if override else None)
    kind = deployment.price_source_kind
    return {
        "base_model_id": deployment.base_model_id,
        "provider_id": deployment.provider_id,
        "deployment_id": deployment.deployment_id,
        "inference_type": deployment.inference_type.value,
        "is_active": deployment.is_active,
        **{name: _number_text(getattr(deployment, name)) for name in PRICE_FIELDS},
        "price_source_kind": kind.value if kind else "",
        "price_source_name": deployment.price_source_name or "",
        "price_source_url": deployment.price_source_url or "",
        "price_as_of": deployment.price_as_of.isoformat() if deployment.price_as_of else "",
        "provider_config": shown_json(deployment.provider_config),
        "custom_params": shown_json(deployment.custom_params, masked=False),
        "capabilities": capabilities,
    }


def provider_shown(provider: ProviderPublic) -> dict[str, Any]:
    return {
        "slug": provider.slug,
        "name": provider.name,
        "base_url": shown_url(provider.base_url),
        "auth_type": provider.auth_type.value,
        "is_simulated": provider.is_simulated,
        "is_active": provider.is_active,
    }


def posted(form: FormData, names: tuple[str, ...], checks: tuple[str, ...]) -> dict[str, Any]:
    """The form as it was sent, to show it again next to its errors."""
    shown: dict[str, Any] = {name: _text(form, name) for name in names}
    shown.update({name: checkbox(form, name) for name in checks})
    shown["capabilities"] = {
        **{flag: _text(form, flag) or checkbox(form, flag) for flag in CAPABILITY_FLAGS},
        **{limit: _text(form, limit) for limit in CAPABILITY_LIMITS},
    }
    return shown


# --- what the forms send to the services ---------------------------------------------------
def base_model_values(form: FormData, errors: dict[str, str]) -> dict[str, Any]:
    """A `BaseModelCreate` / full `BaseModelUpdate` body from the form; JSON problems go into
    `errors`."""
    values: dict[str, Any] = {"name": _text(form, "name"), "vendor": _text(form, "vendor")}
    for name in ("family", "version", "description", "release_date", "replaced_by"):
        values[name] = _optional(form, name)
    values["deprecated"] = checkbox(form, "deprecated")
    values["capabilities"] = {
        **{flag: checkbox(form, flag) for flag in CAPABILITY_FLAGS},
        **{limit: _number(form, limit, int) for limit in CAPABILITY_LIMITS},
    }
    values["default_params"] = _json_object(form, "default_params", errors)
    return values


def _override(form: FormData) -> dict[str, Any]:
    stated: dict[str, Any] = {}
    for flag in CAPABILITY_FLAGS:
        choice = _text(form, flag)
        # Anything but the choices offered is handed on as typed: pydantic names the field.
        stated[flag] = {"": None, "yes": True, "no": False}.get(choice, choice)
    stated.update({limit: _number(form, limit, int) for limit in CAPABILITY_LIMITS})
    return stated


def deployment_values(form: FormData, errors: dict[str, str]) -> dict[str, Any]:
    """A `DeploymentCreate` body from the form (sources left out when not given: a price
    alone is the operator's entry, dated today)."""
    values: dict[str, Any] = {
        "base_model_id": _text(form, "base_model_id"),
        "provider_id": _text(form, "provider_id"),
        "deployment_id": _text(form, "deployment_id"),
        "inference_type": _text(form, "inference_type"),
        "is_active": checkbox(form, "is_active"),
        "capabilities": _override(form),
        "provider_config": _json_object(form, "provider_config", errors),
        "custom_params": _json_object(form, "custom_params", errors),
    }
    values.update({name: _number(form, name, float) for name in PRICE_FIELDS})
    values.update({name: _optional(form, name) for name in (*SOURCE_FIELDS, "price_as_of")})
    if values["provider_config"] is not None and _holds_mask(values["provider_config"]):
        errors["provider_config"] = _MASKED
    return values


def deployment_changes(
    form: FormData, current: DeploymentPublic, errors: dict[str, str]
) -> dict[str, Any]:
    """A `DeploymentUpdate` body: every field of the form, except prices and sources left as
    they were (so an unchanged price keeps its source, and a new price sent without a new
    source is the operator's entry dated today) and a masked `provider_config` sent back
    unchanged (the stored one is kept)."""
    values = deployment_values(form, {})
    errors.pop("provider_config", None)
    shown = deployment_shown(current)
    provider_config = _text(form, "provider_config")
    if provider_config == shown["provider_config"].strip():
        del values["provider_config"]  # untouched: the stored one (secrets and all) stays
    else:
        values["provider_config"] = _json_object(form, "provider_config", errors)
        if values["provider_config"] is not None and _holds_mask(values["provider_config"]):
            errors["provider_config"] = _MASKED
    values["custom_params"] = _json_object(form, "custom_params", errors)
    if all(_text(form, name) == shown[name] for name in PRICE_FIELDS):
        for name in PRICE_FIELDS:
            del values[name]
    if all(_text(form, name) == shown[name] for name in SOURCE_FIELDS):
        for name in SOURCE_FIELDS:
            del values[name]
    if _text(form, "price_as_of") == shown["price_as_of"]:
        del values["price_as_of"]
    return values


def provider_changes(
    form: FormData, current: ProviderPublic, errors: dict[str, str]
) -> dict[str, Any]:
    """A full `ProviderUpdate` body; a masked URL sent back unchanged keeps the stored one."""
    values: dict[str, Any] = {name: _text(form, name) for name in PROVIDER_TEXT}
    values["base_url"] = values["base_url"] or None
    values["is_simulated"] = checkbox(form, "is_simulated")
    values["is_active"] = checkbox(form, "is_active")
    if values["base_url"] is not None and values["base_url"] == shown_url(current.base_url):
        values["base_url"] = current.base_url
    elif values["base_url"] is not None and MASK in values["base_url"]:
        errors["base_url"] = _MASKED
    return values


REGIONAL_TEXT = ("region", "cost_per_1m_input", "cost_per_1m_output", *SOURCE_FIELDS, "price_as_of")


def regional_price_values(
    form: FormData, errors: dict[str, str]
) -> tuple[str, dict[str, Any], dict[str, str]]:
    """The region, a `RegionalPriceWrite` body (source fields left out when empty: the
    operator's entry, dated today) and the form as sent."""
    values: dict[str, Any] = {
        "cost_per_1m_input": _number(form, "cost_per_1m_input", float),
        "cost_per_1m_output": _number(form, "cost_per_1m_output", float),
    }
    for name in (*SOURCE_FIELDS, "price_as_of"):
        if _text(form, name):
            values[name] = _text(form, name)
    shown = {name: _text(form, name) for name in REGIONAL_TEXT}
    return _text(form, "region").lower(), values, shown
