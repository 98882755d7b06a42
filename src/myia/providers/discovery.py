"""What `list_models` reports: a provider's offer, before the catalog decides what to keep."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class DiscoveredModel(BaseModel):
    model_id: str
    name: str
    provider_name: str | None = Field(default=None, description="The vendor, e.g. Anthropic.")
    input_modalities: list[str] = Field(default_factory=list)
    output_modalities: list[str] = Field(default_factory=list)
    inference_types: list[str] = Field(default_factory=list)
    streaming_supported: bool | None = None
    lifecycle_status: str | None = None
    region: str | None = None
    # Cross-region profiles that route to this model from `region` (Bedrock only).
    inference_profile_ids: list[str] = Field(default_factory=list)
    raw: dict[str, Any] = Field(default_factory=dict)

    @property
    def needs_inference_profile(self) -> bool:
        return "ON_DEMAND" not in self.inference_types and bool(
            self.inference_profile_ids or "INFERENCE_PROFILE" in self.inference_types
        )


class InferenceProfileInfo(BaseModel):
    id: str
    name: str
    arn: str | None = None
    model_ids: list[str] = Field(default_factory=list, description="Base model ids it routes to.")
    status: str | None = None
    type: str | None = None
