"""Per-user API keys for the OpenAI-compatible gateway (/v1): stored hashed, never in clear."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from myia.db.base import Base, IdMixin, TimestampMixin
from myia.db.models.users import User
from myia.db.types import UTCDateTime


class ApiKey(IdMixin, TimestampMixin, Base):
    __tablename__ = "api_keys"
    __table_args__ = (Index(None, "user_id"),)

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    # The first characters of the key, shown in lists so a user can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(20))
    # sha256 of the whole key: the key has 256 bits of entropy, so a slow hash adds nothing.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
