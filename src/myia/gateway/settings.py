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

    # Image http(s) URLs in user messages, fetched by the gateway (gateway/image_fetch.py;
    # docs/gateway.md, "Image URLs"). Off: such a URL is a 400, only data: URLs are taken.
    image_fetch: bool = Field(default=True, validation_alias="GATEWAY_IMAGE_FETCH")
    # Hosts and networks fetched although not public (comma list: `images.corp`, `10.1.0.0/16`,
    # `127.0.0.1`); by default only public addresses are.
    image_fetch_allow: str = Field(default="", validation_alias="GATEWAY_IMAGE_FETCH_ALLOW")
    image_max_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024, validation_alias="GATEWAY_IMAGE_MAX_BYTES"
    )
    # For one URL, redirects included.
    image_timeout_s: float = Field(default=10.0, gt=0, validation_alias="GATEWAY_IMAGE_TIMEOUT_S")
    image_max_urls: int = Field(default=8, ge=0, le=64, validation_alias="GATEWAY_IMAGE_MAX_URLS")
    image_max_redirects: int = Field(
        default=3, ge=0, le=10, validation_alias="GATEWAY_IMAGE_MAX_REDIRECTS"
    )

    @property
    def allowed_regions(self) -> frozenset[str] | None:
        names = frozenset(r.strip() for r in self.regions.split(",") if r.strip())
        return names or None
