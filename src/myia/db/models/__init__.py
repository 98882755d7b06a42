"""ORM models of schema v2. Importing this package registers every table on Base.metadata."""

from myia.db.models.api_keys import ApiKey
from myia.db.models.catalog import BaseModel, ModelDeployment, Provider
from myia.db.models.certification import (
    CertificationJob,
    CertificationJobItem,
    ModelCertification,
    WorkerHeartbeat,
)
from myia.db.models.chat import ApiCallLog, Chat, Message
from myia.db.models.ops import LogRecord, SystemMetric
from myia.db.models.prices import DeploymentPrice, PriceHistory
from myia.db.models.users import (
    ProviderCredentialValidation,
    User,
    UserProviderCredential,
    UserSettings,
)

__all__ = [
    "ApiCallLog",
    "ApiKey",
    "BaseModel",
    "CertificationJob",
    "CertificationJobItem",
    "Chat",
    "DeploymentPrice",
    "LogRecord",
    "Message",
    "ModelCertification",
    "ModelDeployment",
    "PriceHistory",
    "Provider",
    "ProviderCredentialValidation",
    "SystemMetric",
    "User",
    "UserProviderCredential",
    "UserSettings",
    "WorkerHeartbeat",
]
