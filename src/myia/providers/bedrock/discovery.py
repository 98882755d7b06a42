"""Control-plane answers (ListFoundationModels, ListInferenceProfiles) -> discovery types."""

from __future__ import annotations

from typing import Any

from myia.providers.bedrock.model_ids import normalize_model_id
from myia.providers.discovery import DiscoveredModel, InferenceProfileInfo


def _jsonable(value: Any) -> Any:
    """Control-plane answers carry datetimes (createdAt, lifecycle times); `raw` stays JSON."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def discovered_model(
    summary: dict[str, Any], region: str, profile_ids: list[str] | None = None
) -> DiscoveredModel:
    lifecycle = summary.get("modelLifecycle") or {}
    return DiscoveredModel(
        model_id=summary["modelId"],
        name=summary.get("modelName") or summary["modelId"],
        provider_name=summary.get("providerName"),
        input_modalities=list(summary.get("inputModalities") or []),
        output_modalities=list(summary.get("outputModalities") or []),
        inference_types=list(summary.get("inferenceTypesSupported") or []),
        streaming_supported=summary.get("responseStreamingSupported"),
        lifecycle_status=lifecycle.get("status"),
        region=region,
        inference_profile_ids=sorted(profile_ids or []),
        raw=_jsonable(summary),
    )


def profile_info(item: dict[str, Any]) -> InferenceProfileInfo:
    model_ids: list[str] = []
    for model in item.get("models") or []:
        # One entry per destination region, all for the same base model.
        base = normalize_model_id(str(model.get("modelArn", "")))
        if base and base not in model_ids:
            model_ids.append(base)
    return InferenceProfileInfo(
        id=item["inferenceProfileId"],
        name=item.get("inferenceProfileName") or item["inferenceProfileId"],
        arn=item.get("inferenceProfileArn"),
        model_ids=model_ids,
        status=item.get("status"),
        type=item.get("type"),
    )
