"""Request and response shapes for authentication."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from myia.db.enums import UserRole
from myia.validation import StrictInput


class UserCreate(StrictInput):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(examples=["ada@example.com"])
    password: str = Field(min_length=6, max_length=200, examples=["correct horse battery"])
    name: str | None = Field(default=None, max_length=200, examples=["Ada"])


class LoginRequest(StrictInput):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(examples=["leo@leo.com"])
    password: str = Field(min_length=1, max_length=200, examples=["leoleo"])


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    name: str | None
    role: UserRole
    created_at: datetime


class TokenPublic(BaseModel):
    access_token: str
    token_type: str = "bearer"
    user: UserPublic
