"""The gateway's own settings (environment), apart from the application's `Settings`."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Off by default: only certified, unexpired deployments receive traffic. On, the gateway
    # may also route to deployments not (or no longer) certified, after every certified one,
    # for trials and benchmarks; such answers carry `X-MyIA-Certified: false`.
    allow_uncertified: bool = Field(default=False, validation_alias="GATEWAY_ALLOW_UNCERTIFIED")
    # Regions callers may be routed to (comma list); empty means every region.
    regions: str = Field(default="", validation_alias="GATEWAY_REGIONS")
    upstream_timeout_s: float = Field(default=120.0, gt=0, validation_alias="GATEWAY_TIMEOUT_S")
    # Output tokens assumed when a request sets no max_tokens, to compare prices.
    assumed_output_tokens: int = Field(default=512, ge=1)

    @property
    def allowed_regions(self) -> frozenset[str] | None:
        names = frozenset(r.strip() for r in self.regions.split(",") if r.strip())
        return names or None
