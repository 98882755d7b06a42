"""Example payloads for the OpenAPI document (kept apart so the schemas stay readable)."""

from __future__ import annotations

from typing import Any

CAPABILITIES: dict[str, Any] = {
    "streaming": True,
    "vision": True,
    "tool_calling": True,
    "json_output": True,
    "max_context_window": 200000,
    "max_output_tokens": 8192,
}

_TIMESTAMPS: dict[str, Any] = {
    "created_at": "2026-02-09T12:00:00Z",
    "updated_at": "2026-02-09T12:00:00Z",
}

PROVIDER_CREATE: dict[str, Any] = {
    "slug": "bedrock",
    "name": "AWS Bedrock",
    "base_url": None,
    "auth_type": "aws_credentials",
    "is_simulated": False,
    "is_active": True,
}

PROVIDER_UPDATE: dict[str, Any] = {"name": "Amazon Bedrock", "is_active": False}

PROVIDER_PUBLIC: dict[str, Any] = {
    "id": "5b0c4a52-3f4e-4a3e-9d0a-2f1d8a1c0b11",
    **PROVIDER_CREATE,
    **_TIMESTAMPS,
}

BASE_MODEL_CREATE: dict[str, Any] = {
    "name": "Claude 3.5 Sonnet",
    "vendor": "Anthropic",
    "family": "Claude",
    "version": "3.5",
    "capabilities": CAPABILITIES,
    "default_params": {"temperature": 0.7, "max_tokens": 1024},
    "description": "Anthropic's mid-size model.",
    "release_date": "2024-10-22T00:00:00Z",
    "deprecated": False,
    "replaced_by": None,
}

BASE_MODEL_UPDATE: dict[str, Any] = {
    "description": "Superseded by Claude 3.7 Sonnet.",
    "deprecated": True,
    "replaced_by": "Claude 3.7 Sonnet",
    "capabilities": {"max_output_tokens": 4096},
}

BASE_MODEL_PUBLIC: dict[str, Any] = {
    "id": "0f7a1a9e-8a7e-4c55-9a57-7d0d3a0a5d42",
    **BASE_MODEL_CREATE,
    "deployment_count": 2,
    "active_deployment_count": 2,
    "providers": ["bedrock", "openrouter"],
    **_TIMESTAMPS,
}

DEPLOYMENT_CREATE: dict[str, Any] = {
    "base_model_id": BASE_MODEL_PUBLIC["id"],
    "provider_id": PROVIDER_PUBLIC["id"],
    "deployment_id": "anthropic.claude-3-5-sonnet-20241022-v2:0",
    "inference_type": "INFERENCE_PROFILE",
    "provider_config": {"profile_format": "{geo}.{model_id}", "regions": ["us-east-1"]},
    "cost_per_1m_input": 3.0,
    "cost_per_1m_output": 15.0,
    "cost_per_hour": None,
    "custom_params": None,
    "capabilities": {"vision": False},
    "capabilities_verified_at": None,
    "capabilities_source": "manual",
    "is_active": True,
}

DEPLOYMENT_UPDATE: dict[str, Any] = {"cost_per_1m_input": 2.5, "is_active": False}

DEPLOYMENT_PUBLIC: dict[str, Any] = {
    "id": "9d1f6c0e-1c1b-4c8e-b1a4-3c2f7e0d9a77",
    **DEPLOYMENT_CREATE,
    "provider": {
        "id": PROVIDER_PUBLIC["id"],
        "slug": "bedrock",
        "name": "AWS Bedrock",
        "is_simulated": False,
        "is_active": True,
    },
    "base_model": {
        "id": BASE_MODEL_PUBLIC["id"],
        "name": "Claude 3.5 Sonnet",
        "vendor": "Anthropic",
        "family": "Claude",
    },
    "effective_capabilities": {**CAPABILITIES, "vision": False},
    **_TIMESTAMPS,
}

PRICE_COMPARISON: dict[str, Any] = {
    "base_model_id": BASE_MODEL_PUBLIC["id"],
    "base_model_name": "Claude 3.5 Sonnet",
    "input_tokens": 1000,
    "output_tokens": 1000,
    "currency": "USD",
    "items": [
        {
            "id": DEPLOYMENT_PUBLIC["id"],
            "deployment_id": "anthropic.claude-3-5-sonnet-20241022-v2:0",
            "inference_type": "INFERENCE_PROFILE",
            "provider_id": PROVIDER_PUBLIC["id"],
            "provider_slug": "bedrock",
            "provider_name": "AWS Bedrock",
            "is_simulated": False,
            "cost_per_1m_input": 3.0,
            "cost_per_1m_output": 15.0,
            "input_cost": 0.003,
            "output_cost": 0.015,
            "total_cost": 0.018,
        }
    ],
}
