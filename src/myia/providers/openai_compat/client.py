"""The OpenAI-compatible provider layer: which SDK client, which key, which base URL.

Any OpenAI-compatible server (OpenAI, Groq, Together, vLLM, llama.cpp, Ollama) is a
`ProviderConnection` with a `base_url` — data, not code. Only Azure differs on the wire
(deployment paths and an `api-version` query parameter), which `AsyncAzureOpenAI` handles.
"""

from __future__ import annotations

import openai

from myia.providers.connection import ApiKeyCredentials, AwsCredentials, ProviderConnection
from myia.providers.errors import ErrorCategory, ProviderError

AZURE_SLUG = "azure"
# Azure OpenAI's current GA data-plane version; a connection can pin another.
DEFAULT_AZURE_API_VERSION = "2024-10-21"
# Local servers (vLLM, Ollama) accept any key, but the SDK insists on one.
NO_KEY = "no-key"


def _api_key(connection: ProviderConnection) -> str | None:
    creds = connection.credentials
    if isinstance(creds, AwsCredentials):
        raise ProviderError(
            ErrorCategory.VALIDATION,
            f"provider {connection.slug!r} takes an API key, not AWS credentials",
            provider=connection.slug,
        )
    if isinstance(creds, ApiKeyCredentials):
        return creds.api_key.get_secret_value()
    if connection.base_url is None and connection.slug == "openai":
        return None  # the SDK's standard chain: OPENAI_API_KEY
    # Never let the SDK fall back to OPENAI_API_KEY for another host: it would send
    # OpenAI's key to a third party.
    return NO_KEY


def build_client(connection: ProviderConnection) -> openai.AsyncOpenAI:
    """An SDK client with its own retries off: MyIA's rate limiter owns retrying."""
    api_key = _api_key(connection)
    try:
        return _construct(connection, api_key)
    except openai.OpenAIError as exc:  # no key anywhere: refused before any request
        raise ProviderError(ErrorCategory.AUTH, str(exc), provider=connection.slug) from exc


def _construct(connection: ProviderConnection, api_key: str | None) -> openai.AsyncOpenAI:
    if connection.slug == AZURE_SLUG:
        if not connection.base_url:
            raise ProviderError(
                ErrorCategory.VALIDATION,
                "Azure OpenAI needs base_url (https://<resource>.openai.azure.com)",
                provider=connection.slug,
            )
        return openai.AsyncAzureOpenAI(
            api_key=api_key,
            azure_endpoint=connection.base_url,
            api_version=connection.azure_api_version or DEFAULT_AZURE_API_VERSION,
            max_retries=0,
            timeout=connection.timeout_s,
        )
    return openai.AsyncOpenAI(
        api_key=api_key,
        base_url=connection.base_url,
        max_retries=0,
        timeout=connection.timeout_s,
    )
