"""Bedrock model ids in one place: geography prefixes, inference profiles, ARNs.

A foundation model is called by its bare id (`anthropic.claude-3-5-haiku-20241022-v1:0`) when it
supports ON_DEMAND throughput; a model offered only through a cross-region inference profile
is called with the geography of the caller's region in front (`us.`, `eu.`, `apac.`, …) or
with `global.`; a provisioned model by its ARN. Everything else normalises back to the bare id.

Which profile a region offers is the provider's answer, not a rule: discovery stores the id
it saw listed in each region (`provider_config["inference_profiles"]`), and
`profile_id_for_deployment` uses it. The prefix table below is only the fallback for a
deployment discovery never saw (entered by hand, or discovered before the map existed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from myia.db.enums import InferenceType

GLOBAL = "global"
# Longest first: "us-gov." must win over "us." (ids never contain a dash before the dot).
GEOGRAPHY_PREFIXES = ("us-gov", "global", "apac", "us", "eu", "jp", "au")

_ARN = re.compile(
    r"^arn:aws[a-z-]*:bedrock:(?P<region>[a-z0-9-]*):(?P<account>\d*):"
    r"(?P<kind>foundation-model|inference-profile)/(?P<id>.+)$"
)


def geography_for_region(region: str) -> str:
    """The cross-region profile prefix callers in `region` use."""
    if region.startswith("us-gov-"):
        return "us-gov"
    # Canada has no profiles of its own: it is routed through the US ones (PROTOCOLS.md).
    if region.startswith(("us-", "ca-")):
        return "us"
    if region.startswith("eu-"):
        return "eu"
    if region.startswith("ap-") or region == "me-central-1":
        return "apac"
    return GLOBAL


def split_geography(model_id: str) -> tuple[str | None, str]:
    """`"us.anthropic.x"` -> `("us", "anthropic.x")`; ids without a prefix -> `(None, id)`."""
    for prefix in GEOGRAPHY_PREFIXES:
        if model_id.startswith(prefix + "."):
            return prefix, model_id[len(prefix) + 1 :]
    return None, model_id


def normalize_model_id(model_id: str) -> str:
    """The base model id behind a profile id or a foundation-model / inference-profile ARN.

    Other ARNs (provisioned throughput, application profiles, custom models) are opaque and
    come back unchanged.
    """
    match = _ARN.match(model_id)
    if match:
        model_id = match["id"]
    return split_geography(model_id)[1]


def is_arn(model_id: str) -> bool:
    return model_id.startswith("arn:")


def profile_id_for(model_id: str, region: str) -> str:
    """The system-defined inference profile to call `model_id` with from `region`.

    An id that already carries a geography (`apac.…`, `global.…`) keeps it: it names a
    profile the provider listed (or an operator chose), not a geography to re-derive. A bare
    id or a foundation-model ARN gets the region's prefix from the table.
    """
    if split_geography(model_id)[0] is not None:
        return model_id
    if is_arn(model_id) and not _ARN.match(model_id):
        return model_id
    return f"{geography_for_region(region)}.{normalize_model_id(model_id)}"


def vendor_of(model_id: str) -> str:
    """`"us.anthropic.claude…"` -> `"anthropic"`."""
    return normalize_model_id(model_id).split(".", 1)[0]


def resolve_model_id(model_id: str, inference_type: InferenceType, region: str) -> str:
    """The id to put in a Converse call for a deployment of `inference_type` in `region`."""
    if inference_type is InferenceType.PROVISIONED:
        return model_id
    if inference_type is InferenceType.INFERENCE_PROFILE:
        return profile_id_for(model_id, region)
    return normalize_model_id(model_id)


class DeploymentIds(Protocol):
    """What `profile_id_for_deployment` reads of a deployment (the ORM row fits)."""

    @property
    def deployment_id(self) -> str: ...

    @property
    def inference_type(self) -> InferenceType: ...

    @property
    def provider_config(self) -> dict[str, Any] | None: ...


def choose_profile(profile_ids: Iterable[str], region: str) -> str | None:
    """Among the system profiles the provider lists in `region` for one model, the one to
    call: the region's own geography first (it keeps data in that geography), then any other
    geographic one, `global.` last; None when there is none."""
    ids = sorted(set(profile_ids))
    if not ids:
        return None
    expected = geography_for_region(region)

    def rank(profile_id: str) -> tuple[int, str]:
        prefix = split_geography(profile_id)[0]
        return (2 if prefix == GLOBAL else 0 if prefix == expected else 1, profile_id)

    return min(ids, key=rank)


def discovered_profile(provider_config: Mapping[str, Any] | None, region: str) -> str | None:
    """The profile id discovery saw listed in `region`, if it stored one."""
    profiles = (provider_config or {}).get("inference_profiles")
    found = profiles.get(region) if isinstance(profiles, Mapping) else None
    return found if isinstance(found, str) and found else None


def profile_id_for_deployment(deployment: DeploymentIds, region: str | None) -> str:
    """The model id to call `deployment` with from `region`.

    An inference-profile deployment uses the profile id discovery saw listed in that region;
    with none stored, the prefix table's guess for the bare id (`global.` ids kept). Other
    deployments, or no region (the adapter's default region decides): their own id.
    """
    model_id = deployment.deployment_id
    if deployment.inference_type is not InferenceType.INFERENCE_PROFILE or not region:
        return model_id
    found = discovered_profile(deployment.provider_config, region)
    if found is not None:
        return found
    if split_geography(model_id)[0] == GLOBAL:
        return model_id
    return profile_id_for(normalize_model_id(model_id), region)
