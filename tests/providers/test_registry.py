from __future__ import annotations

from importlib.metadata import EntryPoint

import openai
import pytest

from myia.db.enums import AuthType
from myia.providers import get_adapter
from myia.providers.bedrock.adapter import BedrockAdapter
from myia.providers.connection import ProviderConnection
from myia.providers.errors import ErrorCategory, ProviderError
from myia.providers.openai_compat.adapter import OpenAICompatAdapter
from myia.providers.openai_compat.client import DEFAULT_AZURE_API_VERSION, NO_KEY
from myia.providers.registry import ENTRY_POINT_GROUP, ProviderRegistry
from tests.providers.conftest import api_key_connection, aws_connection


class CustomAdapter(OpenAICompatAdapter):
    """What a plugin would ship: here, an OpenAI-compatible adapter under its own class."""


def register_custom(registry: ProviderRegistry) -> None:
    registry.register(CustomAdapter, slug="custom")


def register_broken(registry: ProviderRegistry) -> None:
    raise RuntimeError("plugin bug")


def _entry_point(name: str, attr: str) -> EntryPoint:
    return EntryPoint(name=name, value=f"{__name__}:{attr}", group=ENTRY_POINT_GROUP)


async def test_auth_type_picks_the_builtin_adapter() -> None:
    assert isinstance(get_adapter(aws_connection()), BedrockAdapter)
    async with get_adapter(api_key_connection("groq", "http://127.0.0.1:9/v1")) as adapter:
        assert isinstance(adapter, OpenAICompatAdapter)


async def test_a_plugin_registers_a_slug_through_an_entry_point() -> None:
    registry = ProviderRegistry()
    registry.load_plugins(
        [_entry_point("broken", "register_broken"), _entry_point("custom", "register_custom")]
    )
    adapter = registry.get_adapter(api_key_connection("custom", "http://127.0.0.1:9/v1"))
    assert isinstance(adapter, CustomAdapter)
    await adapter.aclose()
    # The broken plugin did not stop the built-ins from registering.
    assert isinstance(registry.get_adapter(aws_connection()), BedrockAdapter)
    other = registry.get_adapter(api_key_connection("together", "http://127.0.0.1:9/v1"))
    assert type(other) is OpenAICompatAdapter
    await other.aclose()


def test_register_needs_exactly_one_key() -> None:
    registry = ProviderRegistry()
    with pytest.raises(ValueError):
        registry.register(CustomAdapter)
    with pytest.raises(ValueError):
        registry.register(CustomAdapter, slug="x", auth_type=AuthType.API_KEY)


def test_no_factory_is_a_validation_error() -> None:
    registry = ProviderRegistry()
    registry._loaded = True  # no built-ins: nothing registered at all
    with pytest.raises(ProviderError) as caught:
        registry.get_adapter(aws_connection())
    assert caught.value.category is ErrorCategory.VALIDATION


async def test_azure_uses_the_azure_client() -> None:
    connection = api_key_connection("azure", "https://example-resource.openai.azure.com")
    adapter = get_adapter(connection)
    assert isinstance(adapter, OpenAICompatAdapter)
    client = adapter.client
    assert isinstance(client, openai.AsyncAzureOpenAI)
    assert str(client.base_url).rstrip("/") == "https://example-resource.openai.azure.com/openai"
    assert client._custom_query == {"api-version": DEFAULT_AZURE_API_VERSION}
    assert client.max_retries == 0
    await adapter.aclose()

    pinned = connection.model_copy(update={"azure_api_version": "2025-01-01-preview"})
    async with get_adapter(pinned) as adapter:
        assert isinstance(adapter, OpenAICompatAdapter)
        assert adapter.client._custom_query == {"api-version": "2025-01-01-preview"}


def test_azure_without_endpoint_is_refused() -> None:
    with pytest.raises(ProviderError) as caught:
        get_adapter(api_key_connection("azure"))
    assert caught.value.category is ErrorCategory.VALIDATION


async def test_openai_key_is_never_sent_to_another_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-key-not-for-groq")
    keyless = ProviderConnection(
        slug="vllm", auth_type=AuthType.API_KEY, base_url="http://127.0.0.1:9/v1"
    )
    async with get_adapter(keyless) as adapter:
        assert isinstance(adapter, OpenAICompatAdapter)
        assert adapter.client.api_key == NO_KEY
    official = ProviderConnection(slug="openai", auth_type=AuthType.API_KEY)
    async with get_adapter(official) as adapter:
        assert isinstance(adapter, OpenAICompatAdapter)
        assert adapter.client.api_key == "sk-env-key-not-for-groq"


def test_mismatched_credentials_are_refused() -> None:
    wrong = aws_connection().model_copy(update={"auth_type": AuthType.API_KEY, "slug": "groq"})
    with pytest.raises(ProviderError):
        get_adapter(wrong)
