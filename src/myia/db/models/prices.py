"""Price tables beside the deployment's own price: regional prices and the history of changes.

A deployment's `cost_per_1m_*` columns hold its price everywhere; a `deployment_prices` row
overrides it in one region (`eu-west-1`) or one geography (`eu`, `apac`, … as Bedrock's
cross-region profiles name them) where the provider prices it differently. Every change of
either goes through `myia.catalog.price_history.record_price_change`, which appends one
`price_history` row (issue 27).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from myia.db.base import Base, IdMixin, TimestampMixin
from myia.db.enums import PriceSourceKind, db_enum
from myia.db.types import UTCDateTime, utcnow


class DeploymentPrice(IdMixin, TimestampMixin, Base):
    """The price of a deployment in one region or geography, with its source."""

    __tablename__ = "deployment_prices"
    __table_args__ = (UniqueConstraint("deployment_id", "region"),)

    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("model_deployments.id", ondelete="CASCADE")
    )
    # A region (`eu-west-1`) or a geography scope (`eu`); the region wins over its geography.
    region: Mapped[str] = mapped_column(String(64))
    cost_per_1m_input: Mapped[float] = mapped_column(Float)
    cost_per_1m_output: Mapped[float] = mapped_column(Float)
    source_kind: Mapped[PriceSourceKind] = mapped_column(
        db_enum(PriceSourceKind, "price_source_kind")
    )
    source_name: Mapped[str | None] = mapped_column(String(200))
    source_url: Mapped[str | None] = mapped_column(String(500))
    as_of: Mapped[date | None] = mapped_column(Date)


class PriceHistory(IdMixin, Base):
    """One change of a deployment's price (region NULL: its default price), append-only."""

    __tablename__ = "price_history"
    __table_args__ = (Index(None, "deployment_id", "changed_at"),)

    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("model_deployments.id", ondelete="CASCADE")
    )
    region: Mapped[str | None] = mapped_column(String(64))
    old_input: Mapped[float | None] = mapped_column(Float)
    old_output: Mapped[float | None] = mapped_column(Float)
    old_hour: Mapped[float | None] = mapped_column(Float)
    new_input: Mapped[float | None] = mapped_column(Float)
    new_output: Mapped[float | None] = mapped_column(Float)
    new_hour: Mapped[float | None] = mapped_column(Float)
    source_kind: Mapped[PriceSourceKind | None] = mapped_column(
        db_enum(PriceSourceKind, "price_source_kind")
    )
    source_name: Mapped[str | None] = mapped_column(String(200))
    source_url: Mapped[str | None] = mapped_column(String(500))
    as_of: Mapped[date | None] = mapped_column(Date)
    # The path that wrote it (api, admin, seed, discovery, import, cli) and who: a user's
    # email or id, or the command; never a secret.
    via: Mapped[str] = mapped_column(String(32))
    changed_by: Mapped[str | None] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
