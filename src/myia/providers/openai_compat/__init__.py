"""OpenAI-compatible providers (OpenAI, Groq, Together, Azure OpenAI, vLLM, …) via `openai`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from myia.db.enums import AuthType

if TYPE_CHECKING:
    from myia.providers.adapter import ProviderAdapter
    from myia.providers.connection import ProviderConnection
    from myia.providers.registry import ProviderRegistry


def create_adapter(connection: ProviderConnection) -> ProviderAdapter:
    from myia.providers.openai_compat.adapter import OpenAICompatAdapter

    return OpenAICompatAdapter(connection)


def register(registry: ProviderRegistry) -> None:
    """The `myia.providers` plugin hook, used by the built-in exactly as by a plugin."""
    registry.register(create_adapter, auth_type=AuthType.API_KEY)
