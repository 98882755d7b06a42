"""schema v2

Revision ID: 0001
Revises:
Create Date: 2026-11-23 15:59:02.218559
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from myia.db.types import JSONType, UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ENUM_TYPES = (
    "auth_type",
    "inference_type",
    "capabilities_source",
    "certification_status",
    "certification_job_type",
    "job_status",
    "user_role",
)


def upgrade() -> None:
    op.create_table(
        "base_models",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("vendor", sa.String(length=100), nullable=False),
        sa.Column("family", sa.String(length=100), nullable=True),
        sa.Column("version", sa.String(length=50), nullable=True),
        sa.Column("capabilities", JSONType, nullable=False),
        sa.Column("default_params", JSONType, nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("release_date", UTCDateTime(), nullable=True),
        sa.Column("deprecated", sa.Boolean(), nullable=False),
        sa.Column("replaced_by", sa.String(length=200), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_base_models")),
        sa.UniqueConstraint("name", name=op.f("uq_base_models_name")),
    )
    with op.batch_alter_table("base_models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_base_models_family"), ["family"], unique=False)
        batch_op.create_index(batch_op.f("ix_base_models_vendor"), ["vendor"], unique=False)

    op.create_table(
        "certification_jobs",
        sa.Column(
            "type",
            sa.Enum(
                "SINGLE_MODEL",
                "MULTIPLE_MODELS",
                "ALL_MODELS",
                "RECERTIFY",
                name="certification_job_type",
            ),
            nullable=False,
        ),
        sa.Column("regions", JSONType, nullable=False),
        sa.Column("deployment_ids", JSONType, nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "QUEUED",
                "PROCESSING",
                "COMPLETED",
                "FAILED",
                "CANCELLED",
                "PAUSED",
                name="job_status",
            ),
            nullable=False,
        ),
        sa.Column("total_models", sa.Integer(), nullable=False),
        sa.Column("processed_models", sa.Integer(), nullable=False),
        sa.Column("success_count", sa.Integer(), nullable=False),
        sa.Column("failure_count", sa.Integer(), nullable=False),
        sa.Column("queue_job_ids", JSONType, nullable=True),
        sa.Column("config", JSONType, nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certification_jobs")),
    )
    with op.batch_alter_table("certification_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certification_jobs_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_certification_jobs_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_certification_jobs_type"), ["type"], unique=False)

    op.create_table(
        "logs",
        sa.Column("timestamp", UTCDateTime(), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("inference_id", sa.String(length=64), nullable=True),
        sa.Column("metadata", JSONType, nullable=True),
        sa.Column("error", JSONType, nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_logs")),
    )
    with op.batch_alter_table("logs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_logs_level"), ["level"], unique=False)
        batch_op.create_index(batch_op.f("ix_logs_request_id"), ["request_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_logs_timestamp"), ["timestamp"], unique=False)
        batch_op.create_index(batch_op.f("ix_logs_user_id"), ["user_id"], unique=False)

    op.create_table(
        "providers",
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=True),
        sa.Column(
            "auth_type", sa.Enum("aws_credentials", "api_key", name="auth_type"), nullable=False
        ),
        sa.Column("is_simulated", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_providers")),
        sa.UniqueConstraint("slug", name=op.f("uq_providers_slug")),
    )
    op.create_table(
        "system_metrics",
        sa.Column("deployment_id", sa.String(length=36), nullable=True),
        sa.Column("metric_type", sa.String(length=50), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("timestamp", UTCDateTime(), nullable=False),
        sa.Column("metadata", JSONType, nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_metrics")),
    )
    with op.batch_alter_table("system_metrics", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_system_metrics_deployment_id_metric_type_timestamp"),
            ["deployment_id", "metric_type", "timestamp"],
            unique=False,
        )

    op.create_table(
        "users",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("role", sa.Enum("user", "admin", name="user_role"), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "chats",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_chats_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chats")),
    )
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chats_user_id"), ["user_id"], unique=False)

    op.create_table(
        "model_deployments",
        sa.Column("base_model_id", sa.String(length=36), nullable=False),
        sa.Column("provider_id", sa.String(length=36), nullable=False),
        sa.Column("deployment_id", sa.String(length=300), nullable=False),
        sa.Column(
            "inference_type",
            sa.Enum("ON_DEMAND", "INFERENCE_PROFILE", "PROVISIONED", name="inference_type"),
            nullable=False,
        ),
        sa.Column("provider_config", JSONType, nullable=True),
        sa.Column("cost_per_1m_input", sa.Float(), nullable=False),
        sa.Column("cost_per_1m_output", sa.Float(), nullable=False),
        sa.Column("cost_per_hour", sa.Float(), nullable=True),
        sa.Column("custom_params", JSONType, nullable=True),
        sa.Column("capabilities", JSONType, nullable=True),
        sa.Column("capabilities_verified_at", UTCDateTime(), nullable=True),
        sa.Column(
            "capabilities_source",
            sa.Enum("manual", "auto_test", name="capabilities_source"),
            nullable=True,
        ),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["base_model_id"],
            ["base_models.id"],
            name=op.f("fk_model_deployments_base_model_id_base_models"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_model_deployments_provider_id_providers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_deployments")),
        sa.UniqueConstraint(
            "provider_id",
            "deployment_id",
            name=op.f("uq_model_deployments_provider_id_deployment_id"),
        ),
    )
    with op.batch_alter_table("model_deployments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_model_deployments_base_model_id"), ["base_model_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_model_deployments_inference_type"), ["inference_type"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_model_deployments_provider_id"), ["provider_id"], unique=False
        )

    op.create_table(
        "user_provider_credentials",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("provider_id", sa.String(length=36), nullable=False),
        sa.Column("region", sa.String(length=50), nullable=True),
        sa.Column("encrypted_data", sa.Text(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_user_provider_credentials_provider_id_providers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_provider_credentials_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_provider_credentials")),
        sa.UniqueConstraint(
            "user_id", "provider_id", name=op.f("uq_user_provider_credentials_user_id_provider_id")
        ),
    )
    with op.batch_alter_table("user_provider_credentials", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_user_provider_credentials_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "user_settings",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("theme", sa.String(length=20), nullable=False),
        sa.Column("default_region", sa.String(length=50), nullable=True),
        sa.Column("enabled_models", JSONType, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_settings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_settings")),
        sa.UniqueConstraint("user_id", name=op.f("uq_user_settings_user_id")),
    )
    op.create_table(
        "messages",
        sa.Column("chat_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("deployment_id", sa.String(length=36), nullable=True),
        sa.Column("region", sa.String(length=50), nullable=True),
        sa.Column("tokens_in", sa.Integer(), nullable=True),
        sa.Column("tokens_out", sa.Integer(), nullable=True),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("time_to_first_token_ms", sa.Integer(), nullable=True),
        sa.Column("sent_context", JSONType, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("fk_messages_chat_id_chats"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["model_deployments.id"],
            name=op.f("fk_messages_deployment_id_model_deployments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_messages_chat_id_created_at"), ["chat_id", "created_at"], unique=False
        )

    op.create_table(
        "model_certifications",
        sa.Column("deployment_id", sa.String(length=36), nullable=False),
        sa.Column("region", sa.String(length=50), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "QUEUED",
                "PROCESSING",
                "COMPLETED",
                "FAILED",
                "CANCELLED",
                "CERTIFIED",
                "QUALITY_WARNING",
                name="certification_status",
            ),
            nullable=False,
        ),
        sa.Column("certified_at", UTCDateTime(), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("certified_by", sa.String(length=200), nullable=True),
        sa.Column("last_tested_at", UTCDateTime(), nullable=True),
        sa.Column("tests_passed", sa.Integer(), nullable=False),
        sa.Column("tests_failed", sa.Integer(), nullable=False),
        sa.Column("success_rate", sa.Float(), nullable=False),
        sa.Column("avg_latency_ms", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failure_reasons", JSONType, nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("test_results", JSONType, nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_category", sa.String(length=50), nullable=True),
        sa.Column("error_severity", sa.String(length=20), nullable=True),
        sa.Column("rating", sa.Float(), nullable=True),
        sa.Column("badge", sa.String(length=20), nullable=True),
        sa.Column("metrics", JSONType, nullable=True),
        sa.Column("scores", JSONType, nullable=True),
        sa.Column("rating_updated_at", UTCDateTime(), nullable=True),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["model_deployments.id"],
            name=op.f("fk_model_certifications_deployment_id_model_deployments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_certifications")),
        sa.UniqueConstraint(
            "deployment_id", "region", name=op.f("uq_model_certifications_deployment_id_region")
        ),
    )
    with op.batch_alter_table("model_certifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_certifications_badge"), ["badge"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_model_certifications_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_model_certifications_job_id"), ["job_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_model_certifications_region"), ["region"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_model_certifications_status"), ["status"], unique=False
        )

    op.create_table(
        "provider_credential_validations",
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("provider_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("error_category", sa.String(length=50), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("details", JSONType, nullable=True),
        sa.Column("checked_at", UTCDateTime(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["user_provider_credentials.id"],
            name=op.f("fk_provider_credential_validations_credential_id_user_provider_credentials"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_provider_credential_validations_provider_id_providers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_provider_credential_validations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_credential_validations")),
    )
    with op.batch_alter_table("provider_credential_validations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provider_credential_validations_credential_id_checked_at"),
            ["credential_id", "checked_at"],
            unique=False,
        )

    op.create_table(
        "api_call_logs",
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("deployment_id", sa.String(length=36), nullable=True),
        sa.Column("message_id", sa.String(length=36), nullable=True),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=300), nullable=False),
        sa.Column("region", sa.String(length=50), nullable=True),
        sa.Column("operation", sa.String(length=50), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("tokens_in", sa.Integer(), nullable=True),
        sa.Column("tokens_out", sa.Integer(), nullable=True),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_category", sa.String(length=50), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["model_deployments.id"],
            name=op.f("fk_api_call_logs_deployment_id_model_deployments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_api_call_logs_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_api_call_logs_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_call_logs")),
    )
    with op.batch_alter_table("api_call_logs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_call_logs_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_api_call_logs_deployment_id_created_at"),
            ["deployment_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_api_call_logs_user_id_created_at"),
            ["user_id", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("api_call_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_call_logs_user_id_created_at"))
        batch_op.drop_index(batch_op.f("ix_api_call_logs_deployment_id_created_at"))
        batch_op.drop_index(batch_op.f("ix_api_call_logs_created_at"))

    op.drop_table("api_call_logs")
    with op.batch_alter_table("provider_credential_validations", schema=None) as batch_op:
        batch_op.drop_index(
            batch_op.f("ix_provider_credential_validations_credential_id_checked_at")
        )

    op.drop_table("provider_credential_validations")
    with op.batch_alter_table("model_certifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_certifications_status"))
        batch_op.drop_index(batch_op.f("ix_model_certifications_region"))
        batch_op.drop_index(batch_op.f("ix_model_certifications_job_id"))
        batch_op.drop_index(batch_op.f("ix_model_certifications_created_at"))
        batch_op.drop_index(batch_op.f("ix_model_certifications_badge"))

    op.drop_table("model_certifications")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_chat_id_created_at"))

    op.drop_table("messages")
    op.drop_table("user_settings")
    with op.batch_alter_table("user_provider_credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_provider_credentials_user_id"))

    op.drop_table("user_provider_credentials")
    with op.batch_alter_table("model_deployments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_deployments_provider_id"))
        batch_op.drop_index(batch_op.f("ix_model_deployments_inference_type"))
        batch_op.drop_index(batch_op.f("ix_model_deployments_base_model_id"))

    op.drop_table("model_deployments")
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chats_user_id"))

    op.drop_table("chats")
    op.drop_table("users")
    with op.batch_alter_table("system_metrics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_system_metrics_deployment_id_metric_type_timestamp"))

    op.drop_table("system_metrics")
    op.drop_table("providers")
    with op.batch_alter_table("logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_logs_user_id"))
        batch_op.drop_index(batch_op.f("ix_logs_timestamp"))
        batch_op.drop_index(batch_op.f("ix_logs_request_id"))
        batch_op.drop_index(batch_op.f("ix_logs_level"))

    op.drop_table("logs")
    with op.batch_alter_table("certification_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certification_jobs_type"))
        batch_op.drop_index(batch_op.f("ix_certification_jobs_status"))
        batch_op.drop_index(batch_op.f("ix_certification_jobs_created_at"))

    op.drop_table("certification_jobs")
    with op.batch_alter_table("base_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_base_models_vendor"))
        batch_op.drop_index(batch_op.f("ix_base_models_family"))

    op.drop_table("base_models")
    # PostgreSQL keeps enum types after their tables are gone.
    for enum_name in ENUM_TYPES:
        sa.Enum(name=enum_name).drop(op.get_bind(), checkfirst=True)
