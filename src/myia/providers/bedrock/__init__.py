"""AWS Bedrock through boto3: Converse / ConverseStream and the control plane."""

from __future__ import annotations

from typing import TYPE_CHECKING

from myia.db.enums import AuthType

if TYPE_CHECKING:
    from myia.providers.adapter import ProviderAdapter
    from myia.providers.connection import ProviderConnection
    from myia.providers.registry import ProviderRegistry


def create_adapter(connection: ProviderConnection) -> ProviderAdapter:
    # Imported here so that looking up the registry does not import boto3.
    from myia.providers.bedrock.adapter import BedrockAdapter

    return BedrockAdapter(connection)


def register(registry: ProviderRegistry) -> None:
    """The `myia.providers` plugin hook, used by the built-in exactly as by a plugin."""
    registry.register(create_adapter, auth_type=AuthType.AWS_CREDENTIALS)
