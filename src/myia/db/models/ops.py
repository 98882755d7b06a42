"""Operational tables: system metrics and structured application logs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from myia.db.base import Base, IdMixin
from myia.db.types import JSONType, UTCDateTime, utcnow


class SystemMetric(IdMixin, Base):
    __tablename__ = "system_metrics"
    __table_args__ = (Index(None, "deployment_id", "metric_type", "timestamp"),)

    deployment_id: Mapped[str | None] = mapped_column(String(36))
    metric_type: Mapped[str] = mapped_column(String(50))
    value: Mapped[float] = mapped_column(Float)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # `metadata` is reserved on declarative classes; the column keeps the schema's name.
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONType)


class LogRecord(IdMixin, Base):
    __tablename__ = "logs"
    __table_args__ = (
        Index(None, "timestamp"),
        Index(None, "level"),
        Index(None, "user_id"),
        Index(None, "request_id"),
    )

    timestamp: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    level: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(36))
    inference_id: Mapped[str | None] = mapped_column(String(64))
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONType)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
