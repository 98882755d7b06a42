"""Bedrock model ids in one place: geography prefixes, inference profiles, ARNs.

A foundation model is called by its bare id (`anthropic.claude-3-5-haiku-20241022-v1:0`) when it
supports ON_DEMAND throughput; a model offered only through a cross-region inference profile
is called with the geography of the caller's region in front (`us.`, `eu.`, `apac.`, …) or
with `global.`; a provisioned model by its ARN. Everything else normalises back to the bare id.
"""

from __future__ import annotations

import re

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

    An id that already says `global.` keeps it: global routing is a deliberate choice, not a
    geography to re-derive.
    """
    if split_geography(model_id)[0] == GLOBAL:
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
