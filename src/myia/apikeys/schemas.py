"""API key schemas: the key itself appears only in `ApiKeyCreated`, once."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from myia.validation import StrictInput


class ApiKeyCreate(StrictInput):
    name: str = Field(min_length=1, max_length=100, examples=["my laptop"])


class ApiKeyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: str
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart")
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The API key. Shown only now: store it, MyIA keeps a hash")


class ApiKeysPublic(BaseModel):
    data: list[ApiKeyPublic]
    count: int
