"""Users, their settings and their provider credentials (encrypted at rest)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from myia.db.base import Base, IdMixin, TimestampMixin
from myia.db.enums import UserRole, db_enum
from myia.db.types import JSONType, UTCDateTime, utcnow


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[UserRole] = mapped_column(db_enum(UserRole, "user_role"), default=UserRole.USER)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Raised to end every live session of the user (logout, password reset, role change,
    # disabling): tokens carry the version they were issued under (auth/tokens.py).
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    settings: Mapped[UserSettings | None] = relationship(
        back_populates="user", cascade="all, delete-orphan", uselist=False
    )


class UserSettings(IdMixin, TimestampMixin, Base):
    __tablename__ = "user_settings"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    theme: Mapped[str] = mapped_column(String(20), default="light")
    default_region: Mapped[str | None] = mapped_column(String(50), default="us-east-1")
    enabled_models: Mapped[list[str]] = mapped_column(JSONType, default=list)

    user: Mapped[User] = relationship(back_populates="settings")


class UserProviderCredential(IdMixin, TimestampMixin, Base):
    """BYOK credentials. `encrypted_data` is a Fernet token of a JSON object of secrets."""

    __tablename__ = "user_provider_credentials"
    __table_args__ = (UniqueConstraint("user_id", "provider_id"), Index(None, "user_id"))

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    region: Mapped[str | None] = mapped_column(String(50))
    encrypted_data: Mapped[str] = mapped_column(Text)


class ProviderCredentialValidation(IdMixin, Base):
    __tablename__ = "provider_credential_validations"
    __table_args__ = (Index(None, "credential_id", "checked_at"),)

    credential_id: Mapped[str] = mapped_column(
        ForeignKey("user_provider_credentials.id", ondelete="CASCADE")
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10))  # ok | error
    detail: Mapped[str | None] = mapped_column(Text)
    error_category: Mapped[str | None] = mapped_column(String(50))
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
