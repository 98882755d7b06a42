"""One adapter per provider connection, reused across requests (pooled HTTP clients).

Adapters hold the SDK clients (httpx pools for the openai SDK, boto3 clients for Bedrock);
building one per request would pay a TLS handshake and client set-up every time. Connections
use the platform's credentials: the provider's standard chain (the AWS chain for Bedrock,
`<SLUG>_API_KEY` for API-key providers), as `myia.credentials.connections` does without a user.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

from pydantic import SecretStr

from myia.db.enums import AuthType
from myia.providers.adapter import ProviderAdapter
from myia.providers.connection import ApiKeyCredentials, ProviderConnection
from myia.providers.openai_compat.client import AZURE_SLUG
from myia.providers.registry import get_adapter
from myia.routing.http1 import Http1Client
from myia.routing.raw_openai import RawOpenAIAdapter
from myia.routing.types import ProviderRef

DEFAULT_TIMEOUT_S = 120.0
# With a proxy configured, upstream calls go through the SDK adapters (httpx honours these).
_PROXIED = any(
    os.environ.get(name)
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
)


def platform_connection(
    provider: ProviderRef, region: str | None, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> ProviderConnection:
    credentials = None
    if provider.auth_type is AuthType.API_KEY:
        value = os.environ.get(f"{provider.slug.upper().replace('-', '_')}_API_KEY")
        credentials = ApiKeyCredentials(api_key=SecretStr(value)) if value else None
    return ProviderConnection(
        slug=provider.slug,
        auth_type=provider.auth_type,
        base_url=provider.base_url,
        region=region if provider.regional else None,
        timeout_s=timeout_s,
        credentials=credentials,
    )


class AdapterPool:
    """Adapters keyed by (provider, base URL, region); closed together at shutdown.

    OpenAI-compatible providers (but Azure, whose paths differ) get the lean
    `RawOpenAIAdapter` and Bedrock the async `RawBedrockAdapter`, all sharing one keep-alive
    `Http1Client`; the others (Azure, plugins) their registered adapter.
    """

    def __init__(
        self,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        raw_openai: bool = True,
        raw_bedrock: bool = True,
    ) -> None:
        self.timeout_s = timeout_s
        self.raw_openai = raw_openai
        self.raw_bedrock = raw_bedrock
        self._adapters: dict[tuple[str, str | None, str | None], ProviderAdapter] = {}
        self._http: Http1Client | None = None

    def _http_client(self) -> Http1Client:
        if self._http is None:
            self._http = Http1Client(
                timeout_s=self.timeout_s, connect_timeout_s=min(self.timeout_s, 10.0)
            )
        return self._http

    def _raw(self, connection: ProviderConnection) -> RawOpenAIAdapter:
        return RawOpenAIAdapter(connection, self._http_client())

    def adapter_for(self, connection: ProviderConnection) -> ProviderAdapter:
        """Bedrock (AWS credentials) on the async Converse path (`raw_bedrock`, sharing the
        pool's HTTP client) unless a proxy is configured (boto3 honours it); any other
        connection its registered adapter. Also for the chat's per-user connections."""
        if self.raw_bedrock and connection.auth_type is AuthType.AWS_CREDENTIALS and not _PROXIED:
            from myia.routing.raw_bedrock import RawBedrockAdapter  # botocore: imported on use

            return RawBedrockAdapter(connection, self._http_client())
        return get_adapter(connection)

    def get(self, provider: ProviderRef, region: str | None) -> ProviderAdapter:
        key = (provider.slug, provider.base_url, region if provider.regional else None)
        adapter = self._adapters.get(key)
        if adapter is None:
            connection = platform_connection(provider, region, timeout_s=self.timeout_s)
            raw = (
                self.raw_openai
                and not _PROXIED  # the lean client speaks to the upstream directly
                and provider.auth_type is AuthType.API_KEY
                and provider.slug != AZURE_SLUG
            )
            adapter = self._adapters[key] = (
                self._raw(connection) if raw else self.adapter_for(connection)
            )
        return adapter

    def __len__(self) -> int:
        return len(self._adapters)

    async def aclose(self) -> None:
        adapters, self._adapters = list(self._adapters.values()), {}
        for adapter in adapters:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(adapter.aclose(), timeout=5)
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()
