"""Request and response shapes for provider credentials.

Secret inputs are `SecretStr` so that a repr, a traceback or a careless log line shows
`**********`, and validation messages never quote what was sent.
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from myia.db.enums import AuthType
from myia.validation import StrictInput

_ACCESS_KEY_ID = re.compile(r"^\w{16,128}$")  # AWS: 16-128 word characters
_NO_SPACE = re.compile(r"^\S+$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+$")

# Which input fields carry secrets, per auth type (the rest, like region, are not secret).
SECRET_FIELDS: dict[AuthType, tuple[str, ...]] = {
    AuthType.AWS_CREDENTIALS: ("access_key_id", "secret_access_key", "session_token"),
    AuthType.API_KEY: ("api_key",),
}
REQUIRED_FIELDS: dict[AuthType, tuple[str, ...]] = {
    AuthType.AWS_CREDENTIALS: ("access_key_id", "secret_access_key"),
    AuthType.API_KEY: ("api_key",),
}


def _check_secret(value: SecretStr | None, *, min_length: int, max_length: int) -> None:
    if value is None:
        return
    raw = value.get_secret_value()
    if not min_length <= len(raw) <= max_length:
        raise ValueError(f"must be {min_length} to {max_length} characters long")
    if not _NO_SPACE.match(raw):
        raise ValueError("must not contain spaces or line breaks")


class CredentialInput(StrictInput):
    """AWS keys (+ region) for `aws_credentials` providers, or `api_key` for `api_key` ones.

    Which fields are allowed depends on the provider, so that check is the service's.
    """

    model_config = ConfigDict(extra="forbid")

    access_key_id: SecretStr | None = Field(default=None, examples=["AKIAIOSFODNN7EXAMPLE"])
    secret_access_key: SecretStr | None = Field(default=None)
    session_token: SecretStr | None = Field(default=None)
    region: str | None = Field(default=None, max_length=50, examples=["us-east-1"])
    api_key: SecretStr | None = Field(default=None)

    @field_validator("access_key_id")
    @classmethod
    def _access_key_id(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _ACCESS_KEY_ID.match(value.get_secret_value()):
            raise ValueError("must be 16 to 128 letters or digits")
        return value

    @field_validator("secret_access_key")
    @classmethod
    def _secret_access_key(cls, value: SecretStr | None) -> SecretStr | None:
        _check_secret(value, min_length=16, max_length=256)
        return value

    @field_validator("session_token")
    @classmethod
    def _session_token(cls, value: SecretStr | None) -> SecretStr | None:
        _check_secret(value, min_length=16, max_length=8192)
        return value

    @field_validator("api_key")
    @classmethod
    def _api_key(cls, value: SecretStr | None) -> SecretStr | None:
        _check_secret(value, min_length=8, max_length=512)
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not _REGION.match(value):
            raise ValueError("must look like 'us-east-1'")
        return value

    def provided(self) -> set[str]:
        """Names of the fields that carry a value."""
        return {name for name in type(self).model_fields if getattr(self, name) is not None}

    def secret_values(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for name in ("access_key_id", "secret_access_key", "session_token", "api_key"):
            field: SecretStr | None = getattr(self, name)
            if field is not None:
                values[name] = field.get_secret_value()
        return values


class CredentialValidationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    status: str
    detail: str | None
    error_category: str | None
    latency_ms: int | None
    checked_at: datetime


class CredentialValidationsPublic(BaseModel):
    data: list[CredentialValidationPublic]
    count: int


class CredentialPublic(BaseModel):
    """A stored credential as its owner may see it: every secret masked (`***` + last 4)."""

    id: str
    provider_slug: str
    provider_name: str
    auth_type: AuthType
    region: str | None
    masked: dict[str, str] = Field(
        description="Secret fields, masked.",
        examples=[{"access_key_id": "***MPLE", "secret_access_key": "***EKEY"}],
    )
    readable: bool = Field(
        description="False when the stored value cannot be decrypted with the current "
        "ENCRYPTION_SECRET; store the credential again."
    )
    last_validation: CredentialValidationPublic | None
    created_at: datetime
    updated_at: datetime


class CredentialsPublic(BaseModel):
    data: list[CredentialPublic]
    count: int
