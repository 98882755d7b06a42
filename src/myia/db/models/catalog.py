"""Catalog tables: providers, base models and their deployments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from myia.db.base import Base, IdMixin, TimestampMixin
from myia.db.enums import AuthType, CapabilitiesSource, InferenceType, PriceSourceKind, db_enum
from myia.db.types import JSONType, UTCDateTime


class Provider(IdMixin, TimestampMixin, Base):
    __tablename__ = "providers"

    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    base_url: Mapped[str | None] = mapped_column(String(500))
    auth_type: Mapped[AuthType] = mapped_column(db_enum(AuthType, "auth_type"))
    # True when the provider points at the local simulator (demo/tests), so the catalog and
    # the UI can label it: the simulator never pretends to be a real cloud.
    is_simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    deployments: Mapped[list[ModelDeployment]] = relationship(back_populates="provider")


class BaseModel(IdMixin, TimestampMixin, Base):
    """A model independent of where it runs (e.g. "Claude 3.5 Sonnet")."""

    __tablename__ = "base_models"
    __table_args__ = (Index(None, "vendor"), Index(None, "family"))

    name: Mapped[str] = mapped_column(String(200), unique=True)
    vendor: Mapped[str] = mapped_column(String(100))
    family: Mapped[str | None] = mapped_column(String(100))
    version: Mapped[str | None] = mapped_column(String(50))
    capabilities: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    default_params: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    description: Mapped[str | None] = mapped_column(Text)
    release_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deprecated: Mapped[bool] = mapped_column(Boolean, default=False)
    replaced_by: Mapped[str | None] = mapped_column(String(200))

    deployments: Mapped[list[ModelDeployment]] = relationship(back_populates="base_model")


# What `q=` searches; kept for the statistics ANALYZE gathers on it (migration 0009).
Index("ix_base_models_name_lower", func.lower(BaseModel.name))


class ModelDeployment(IdMixin, TimestampMixin, Base):
    """A base model on one provider, with the price it costs there."""

    __tablename__ = "model_deployments"
    __table_args__ = (
        UniqueConstraint("provider_id", "deployment_id"),
        Index(None, "base_model_id"),
        Index(None, "provider_id"),
        Index(None, "inference_type"),
    )

    base_model_id: Mapped[str] = mapped_column(ForeignKey("base_models.id", ondelete="CASCADE"))
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id", ondelete="RESTRICT"))
    deployment_id: Mapped[str] = mapped_column(String(300))
    inference_type: Mapped[InferenceType] = mapped_column(
        db_enum(InferenceType, "inference_type"), default=InferenceType.ON_DEMAND
    )
    provider_config: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # NULL = price unknown, never 0: an unpriced deployment must not look free (issue 15).
    cost_per_1m_input: Mapped[float | None] = mapped_column(Float)
    cost_per_1m_output: Mapped[float | None] = mapped_column(Float)
    cost_per_hour: Mapped[float | None] = mapped_column(Float)
    # Where the three prices above come from and the day they were read there (issue 27);
    # NULL kind with a price: a row written before prices carried their source.
    price_source_kind: Mapped[PriceSourceKind | None] = mapped_column(
        db_enum(PriceSourceKind, "price_source_kind")
    )
    price_source_name: Mapped[str | None] = mapped_column(String(200))
    price_source_url: Mapped[str | None] = mapped_column(String(500))
    price_as_of: Mapped[date | None] = mapped_column(Date)
    custom_params: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # Capabilities seen on this deployment; they override the base model's when set.
    capabilities: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    capabilities_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    capabilities_source: Mapped[CapabilitiesSource | None] = mapped_column(
        db_enum(CapabilitiesSource, "capabilities_source")
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    base_model: Mapped[BaseModel] = relationship(back_populates="deployments")
    provider: Mapped[Provider] = relationship(back_populates="deployments")
