from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from myia.providers.bedrock import client as client_module
from myia.providers.bedrock.client import BedrockClients
from myia.providers.connection import AwsCredentials
from tests.providers.conftest import aws_connection

RUNTIME_ENV = "http://127.0.0.1:4501"


def test_retries_are_off_and_timeouts_set() -> None:
    client = BedrockClients(aws_connection(timeout_s=42)).runtime("us-east-1")
    config: Any = client.meta.config
    # One attempt in total; botocore turns {"max_attempts": 1} into two.
    assert config.retries == {"total_max_attempts": 1, "mode": "standard"}
    assert config.read_timeout == 42
    assert config.connect_timeout == 10


def test_endpoint_env_vars_are_honoured_without_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", RUNTIME_ENV)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", "http://127.0.0.1:4502")
    clients = BedrockClients(aws_connection())
    assert clients.runtime("eu-west-1").meta.endpoint_url == RUNTIME_ENV
    assert clients.control("eu-west-1").meta.endpoint_url == "http://127.0.0.1:4502"


def test_base_url_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4503")
    clients = BedrockClients(aws_connection(base_url="http://127.0.0.1:4504"))
    assert clients.runtime("us-east-1").meta.endpoint_url == "http://127.0.0.1:4504"


def test_clients_are_cached_per_region_endpoint_and_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", raising=False)
    clients = BedrockClients(aws_connection(base_url="http://127.0.0.1:4505"))
    first = clients.runtime("us-east-1")
    assert clients.runtime("us-east-1") is first
    assert (
        BedrockClients(aws_connection(base_url="http://127.0.0.1:4505")).runtime("us-east-1")
        is first
    )
    assert clients.runtime("eu-west-1") is not first
    other_keys = aws_connection(base_url="http://127.0.0.1:4505").model_copy(
        update={
            "credentials": AwsCredentials(
                access_key_id=SecretStr("AKIAOTHER0000000"), secret_access_key=SecretStr("x")
            )
        }
    )
    assert BedrockClients(other_keys).runtime("us-east-1") is not first
    # A changed environment gets a client for the new endpoint, not the cached one.
    plain = BedrockClients(aws_connection())
    before = plain.runtime("us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", RUNTIME_ENV)
    after = plain.runtime("us-east-1")
    assert after is not before and after.meta.endpoint_url == RUNTIME_ENV


def test_cache_keys_hold_no_secret() -> None:
    BedrockClients(aws_connection(base_url="http://127.0.0.1:4506")).runtime("us-east-1")
    keys = repr(list(client_module._cache))
    assert "wJalrXUtnFEMI" not in keys and "AKIAIOSFODNN7EXAMPLE" not in keys


def test_region_falls_back_to_the_aws_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert BedrockClients(aws_connection(region=None)).region(None) == "eu-central-1"
    assert BedrockClients(aws_connection(region="us-west-2")).region("ap-south-1") == "ap-south-1"
