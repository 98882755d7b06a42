"""The plain, immutable values routing works with (safe to share between requests)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from myia.db.enums import AuthType, InferenceType

# Capability names as certification stores them (myia.certification.suite).
TOOL_CALLING = "tool_calling"
VISION = "vision"
STREAMING = "streaming"
STRUCTURED_OUTPUT = "structured_output"


@dataclass(frozen=True, slots=True)
class Needs:
    """What a request needs its route's certification to have passed."""

    tools: bool = False
    vision: bool = False
    streaming: bool = False
    structured: bool = False  # response_format json_schema / json_object

    def capabilities(self) -> tuple[str, ...]:
        wanted = (
            (self.tools, TOOL_CALLING),
            (self.vision, VISION),
            (self.streaming, STREAMING),
            (self.structured, STRUCTURED_OUTPUT),
        )
        return tuple(name for on, name in wanted if on)


@dataclass(frozen=True, slots=True)
class ProviderRef:
    """What an adapter needs to know about a provider row (no secrets)."""

    id: str
    slug: str
    auth_type: AuthType
    base_url: str | None
    is_simulated: bool = False

    @property
    def regional(self) -> bool:
        return self.auth_type is AuthType.AWS_CREDENTIALS


@dataclass(frozen=True, slots=True)
class CertificationView:
    """One certification row as routing reads it."""

    region: str
    status: str
    badge: str | None
    rating: float | None
    expires_at: datetime | None
    passed: frozenset[str] = field(default_factory=frozenset)
    failed: frozenset[str] = field(default_factory=frozenset)

    def is_certified(self, now: datetime) -> bool:
        return self.status == "CERTIFIED" and (self.expires_at is None or self.expires_at > now)

    def proves(self, capability: str) -> bool:
        return capability in self.passed and capability not in self.failed


_NO_PARAMS: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Route:
    """One candidate for a request: a deployment in a region, with its price and verdict.

    `deployment` is the provider's model id (what the adapter sends); `deployment_row_id` the
    `model_deployments.id`. Prices are USD per 1M tokens and `None` when unknown. `region` is
    None only for an uncertified route without any certification row (the adapter's default).
    """

    deployment: str
    deployment_row_id: str
    model: str
    provider: ProviderRef
    region: str | None
    price_in: float | None
    price_out: float | None
    certification: CertificationView | None
    certified: bool
    inference_type: InferenceType = InferenceType.ON_DEMAND
    # The id the adapter sends when it is not `deployment`: a Bedrock inference-profile
    # deployment is called by the profile id discovered for `region`, as certification does.
    call_id: str | None = None
    # The deployment's call parameters (model defaults under deployment overrides), merged
    # when the route table loads; empty for most routes (`myia.routing.params`).
    params: Mapping[str, Any] = field(default_factory=lambda: _NO_PARAMS)
    # The most output tokens a call may ask here (the catalog's `max_output_tokens`); None:
    # unknown. A request over it is refused, never cut short (`myia.routing.output_limit`).
    max_output_tokens: int | None = None

    @property
    def priced(self) -> bool:
        return self.price_in is not None and self.price_out is not None

    def estimated_cost(self, input_tokens: int, output_tokens: int) -> float | None:
        if self.price_in is None or self.price_out is None:
            return None
        return (input_tokens * self.price_in + output_tokens * self.price_out) / 1_000_000
