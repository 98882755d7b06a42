"""Chats, messages with telemetry, and the log of every provider call."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from myia.db.base import Base, IdMixin, TimestampMixin
from myia.db.types import JSONType, UTCDateTime, utcnow


class Chat(IdMixin, TimestampMixin, Base):
    __tablename__ = "chats"
    __table_args__ = (Index(None, "user_id"),)

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))


class Message(IdMixin, Base):
    __tablename__ = "messages"
    __table_args__ = (Index(None, "chat_id", "created_at"),)

    chat_id: Mapped[str] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))  # user | assistant | system | tool
    content: Mapped[str] = mapped_column(Text)
    deployment_id: Mapped[str | None] = mapped_column(
        ForeignKey("model_deployments.id", ondelete="SET NULL")
    )
    region: Mapped[str | None] = mapped_column(String(50))
    tokens_in: Mapped[int | None] = mapped_column(Integer)
    tokens_out: Mapped[int | None] = mapped_column(Integer)
    cost: Mapped[float | None] = mapped_column(Float)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    time_to_first_token_ms: Mapped[int | None] = mapped_column(Integer)
    sent_context: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # complete | streaming | interrupted | error: an assistant row is written as `streaming`
    # before the provider call, so a server that dies mid-stream leaves it recognisable.
    status: Mapped[str] = mapped_column(String(20), default="complete", server_default="complete")
    # Why `cost` is null (an unpriced deployment, no usage reported); null when it is known.
    cost_note: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiCallLog(IdMixin, Base):
    __tablename__ = "api_call_logs"
    __table_args__ = (
        Index(None, "user_id", "created_at"),
        Index(None, "deployment_id", "created_at"),
        Index(None, "created_at"),
        Index(None, "operation", "created_at"),
    )

    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    deployment_id: Mapped[str | None] = mapped_column(
        ForeignKey("model_deployments.id", ondelete="SET NULL")
    )
    message_id: Mapped[str | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(300))
    region: Mapped[str | None] = mapped_column(String(50))
    operation: Mapped[str] = mapped_column(String(50), default="chat")
    status: Mapped[str] = mapped_column(String(20))  # success | error
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    tokens_in: Mapped[int | None] = mapped_column(Integer)
    tokens_out: Mapped[int | None] = mapped_column(Integer)
    cost: Mapped[float | None] = mapped_column(Float)
    cost_note: Mapped[str | None] = mapped_column(String(200))
    time_to_first_token_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    error_category: Mapped[str | None] = mapped_column(String(50))
    request_id: Mapped[str | None] = mapped_column(String(64))
    # The gateway client's `user` / `safety_identifier` (cut to 256 characters): it may
    # identify a person, so only admins see it.
    end_user: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
