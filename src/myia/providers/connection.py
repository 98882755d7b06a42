"""Where and as whom an adapter connects. Secrets are `SecretStr`: never in a repr or a log."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from myia.db.enums import AuthType

DEFAULT_TIMEOUT_S = 60.0


class AwsCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    access_key_id: SecretStr
    secret_access_key: SecretStr
    session_token: SecretStr | None = None

    def fingerprint(self) -> str:
        """A stable, non-reversible key for caching clients per credential."""
        parts = (
            self.access_key_id.get_secret_value(),
            self.secret_access_key.get_secret_value(),
            self.session_token.get_secret_value() if self.session_token else "",
        )
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


class ApiKeyCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: SecretStr


class ProviderConnection(BaseModel):
    """One provider as stored in `providers`, plus the credential to use with it.

    `credentials=None` means the provider's standard chain: the AWS chain for Bedrock
    (environment, profile, instance role), `OPENAI_API_KEY` for the openai SDK.
    """

    model_config = ConfigDict(extra="forbid")

    slug: str = Field(min_length=1)
    auth_type: AuthType
    base_url: str | None = None
    region: str | None = None
    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0)
    credentials: AwsCredentials | ApiKeyCredentials | None = None
    # Azure OpenAI only: the `api-version` query parameter every call carries.
    azure_api_version: str | None = None
