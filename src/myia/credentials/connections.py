"""Build the `ProviderConnection` an adapter needs from a provider row and a user's credential.

The user's stored (BYOK) credential wins; without one the provider's standard chain applies:
the AWS chain for Bedrock (environment, profile, role) and `<SLUG>_API_KEY` (OPENAI_API_KEY,
GROQ_API_KEY, …) for API-key providers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from myia.credentials.service import get_decrypted
from myia.db.enums import AuthType
from myia.db.models import Provider
from myia.observability.redaction import register_secret, register_secrets
from myia.providers.connection import ApiKeyCredentials, AwsCredentials, ProviderConnection

_AWS_ENV_SECRETS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def _env_api_key(slug: str) -> ApiKeyCredentials | None:
    value = os.environ.get(f"{slug.upper().replace('-', '_')}_API_KEY")
    register_secret(value)  # so a provider quoting it in an error never gets it stored
    return ApiKeyCredentials(api_key=SecretStr(value)) if value else None


async def connection_for(
    *,
    session: AsyncSession,
    provider: Provider,
    region: str | None,
    user_id: str | None,
    secret: str | Sequence[str],
    timeout_s: float = 60.0,
) -> ProviderConnection:
    credentials: AwsCredentials | ApiKeyCredentials | None = None
    stored = (
        await get_decrypted(
            session=session, user_id=user_id, provider_slug=provider.slug, secret=secret
        )
        if user_id
        else None
    )
    if stored is not None and provider.auth_type is AuthType.AWS_CREDENTIALS:
        credentials = AwsCredentials(
            access_key_id=SecretStr(stored.secrets["access_key_id"]),
            secret_access_key=SecretStr(stored.secrets["secret_access_key"]),
            session_token=SecretStr(stored.secrets["session_token"])
            if stored.secrets.get("session_token")
            else None,
        )
        region = region or stored.region
    elif stored is not None:
        credentials = ApiKeyCredentials(api_key=SecretStr(stored.secrets["api_key"]))
    elif provider.auth_type is AuthType.API_KEY:
        credentials = _env_api_key(provider.slug)
    else:
        # boto3's own chain reads these; a provider quoting one must not get it stored.
        register_secrets(os.environ.get(name) for name in _AWS_ENV_SECRETS)
    return ProviderConnection(
        slug=provider.slug,
        auth_type=provider.auth_type,
        base_url=provider.base_url,
        region=region,
        timeout_s=timeout_s,
        credentials=credentials,
    )
