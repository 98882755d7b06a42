"""Enumerations of schema v2 (stored as native enums on PostgreSQL)."""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import Enum


class InferenceType(enum.StrEnum):
    ON_DEMAND = "ON_DEMAND"
    INFERENCE_PROFILE = "INFERENCE_PROFILE"
    PROVISIONED = "PROVISIONED"


class CertificationStatus(enum.StrEnum):
    PENDING = "PENDING"
    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    CERTIFIED = "CERTIFIED"
    QUALITY_WARNING = "QUALITY_WARNING"
    # Transient errors outlasted every retry and give-back: no verdict (never routed to).
    INCONCLUSIVE = "INCONCLUSIVE"


class CertificationJobType(enum.StrEnum):
    SINGLE_MODEL = "SINGLE_MODEL"
    MULTIPLE_MODELS = "MULTIPLE_MODELS"
    ALL_MODELS = "ALL_MODELS"
    RECERTIFY = "RECERTIFY"


class JobStatus(enum.StrEnum):
    PENDING = "PENDING"
    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    PAUSED = "PAUSED"


class UserRole(enum.StrEnum):
    USER = "user"
    ADMIN = "admin"


class AuthType(enum.StrEnum):
    AWS_CREDENTIALS = "aws_credentials"
    API_KEY = "api_key"


class CapabilitiesSource(enum.StrEnum):
    MANUAL = "manual"
    AUTO_TEST = "auto_test"


class PriceSourceKind(enum.StrEnum):
    """Where a deployment's price came from (issue 27)."""

    BUNDLED = "bundled"  # myia/data/pricing.yaml: a public price page, cited there
    OPERATOR = "operator"  # typed in by an operator (API, admin page, import file)
    DISCOVERY = "discovery"  # the provider's own model listing said so


def db_enum(enum_cls: type[enum.StrEnum], name: str) -> Enum:
    """A SQLAlchemy Enum storing the member values (not names) under a fixed type name."""
    values: Any = lambda cls: [member.value for member in cls]  # noqa: E731
    return Enum(enum_cls, name=name, values_callable=values, validate_strings=True)


class JobItemStatus(enum.StrEnum):
    """One (deployment, region) of a job, as the queue works through it."""

    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
