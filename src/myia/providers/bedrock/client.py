"""The Bedrock provider layer: boto3 sessions and clients, credentials, region, endpoint.

Clients are built and called in worker threads (boto3 blocks) and cached per (service,
region, endpoint, credential fingerprint, timeout): building one loads service models from
disk, far too slow to repeat per call. botocore's own retries are off because MyIA's rate
limiter owns retrying; a hidden second layer would multiply attempts and hide throttling.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Literal

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import NoCredentialsError

from myia.providers.connection import ApiKeyCredentials, AwsCredentials, ProviderConnection
from myia.providers.errors import ErrorCategory, ProviderError

if TYPE_CHECKING:
    from mypy_boto3_bedrock.client import BedrockClient
    from mypy_boto3_bedrock_runtime.client import BedrockRuntimeClient

Service = Literal["bedrock", "bedrock-runtime"]

# boto3 reads these itself when endpoint_url is None; they belong in the cache key so that a
# changed environment does not keep answering from a client built for the old endpoint.
ENDPOINT_ENV_VARS = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_BEDROCK",
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)
DEFAULT_CHAIN = "default-chain"
MAX_CONNECT_TIMEOUT_S = 10.0
# Certification runs many calls per region at once; botocore's default pool of 10 would
# open and drop extra connections with a warning each time.
MAX_POOL_CONNECTIONS = 50
_CACHE_SIZE = 64

_CacheKey = tuple[str, str, str, str, float]
_cache: OrderedDict[_CacheKey, Any] = OrderedDict()
_cache_lock = threading.Lock()
_shared_session: boto3.Session | None = None


def client_config(timeout_s: float) -> Config:
    # `total_max_attempts`, not `max_attempts`: in a Config the latter counts *retries*, so
    # {"max_attempts": 1} still sends a throttled call twice (botocore args.py adds one).
    return Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=min(timeout_s, MAX_CONNECT_TIMEOUT_S),
        read_timeout=timeout_s,
        max_pool_connections=MAX_POOL_CONNECTIONS,
        user_agent_extra="myia",
    )


def _shared() -> boto3.Session:
    """One session for every client built from explicit keys (passed per client).

    A session caches the parsed service models: a client from a warm session takes ~6 ms,
    one from a fresh session ~120 ms (measured, bedrock-runtime, botocore 1.44). Callers hold
    `_cache_lock`, which also keeps botocore's non-thread-safe session to one thread.
    """
    global _shared_session
    if _shared_session is None:
        _shared_session = boto3.Session()
    return _shared_session


def clear_client_cache() -> None:
    with _cache_lock:
        _cache.clear()


class BedrockClients:
    """Owns how one connection reaches Bedrock. Methods block: call them from a thread."""

    def __init__(self, connection: ProviderConnection) -> None:
        if isinstance(connection.credentials, ApiKeyCredentials):
            raise ProviderError(
                ErrorCategory.VALIDATION,
                "Bedrock needs AWS credentials (aws_credentials), not an API key",
                provider=connection.slug,
            )
        self.connection = connection
        self._credentials: AwsCredentials | None = connection.credentials

    @property
    def fingerprint(self) -> str:
        return self._credentials.fingerprint() if self._credentials else DEFAULT_CHAIN

    def _session(self, region: str) -> boto3.Session:
        """The chain's own session for connections without keys; the shared one otherwise."""
        return boto3.Session(region_name=region) if self._credentials is None else _shared()

    def _key_arguments(self) -> dict[str, str | None]:
        creds = self._credentials
        if creds is None:
            return {}
        return {
            "aws_access_key_id": creds.access_key_id.get_secret_value(),
            "aws_secret_access_key": creds.secret_access_key.get_secret_value(),
            "aws_session_token": creds.session_token.get_secret_value()
            if creds.session_token
            else None,
        }

    def region(self, requested: str | None = None) -> str:
        """The request's region, else the connection's, else the AWS chain's default."""
        # A fresh session reads AWS_REGION / AWS_DEFAULT_REGION / the profile as they are now.
        region = requested or self.connection.region or boto3.Session().region_name
        if not region:
            raise ProviderError(
                ErrorCategory.VALIDATION,
                "no AWS region: set one on the request, the provider or AWS_REGION",
                provider=self.connection.slug,
            )
        return region

    def credentials(self, region: str) -> Credentials:
        """What the runtime client of `region` signs with: the connection's keys, else the
        AWS chain's credentials as a session for `region` resolves them (environment,
        profile, SSO, instance role; possibly refreshable). Blocking: the chain may read
        files or call the instance metadata service."""
        creds = self._credentials
        if creds is not None:
            return Credentials(
                creds.access_key_id.get_secret_value(),
                creds.secret_access_key.get_secret_value(),
                creds.session_token.get_secret_value() if creds.session_token else None,
            )
        found = self._session(region).get_credentials()
        if found is None:
            raise NoCredentialsError()
        return found

    @staticmethod
    def ca_bundle() -> str | None:
        """The CA bundle botocore verifies TLS with when one is configured (`AWS_CA_BUNDLE`,
        or the profile's `ca_bundle`); None means its default. Blocking (reads the config)."""
        value = botocore.session.Session().get_config_variable("ca_bundle")
        return str(value) if value else None

    def endpoint_key(self) -> str:
        """What decides the endpoint besides the region (base URL or the endpoint variables)."""
        return self._endpoint_key()

    def _endpoint_key(self) -> str:
        if self.connection.base_url:
            return self.connection.base_url
        return "|".join(os.environ.get(name, "") for name in ENDPOINT_ENV_VARS)

    def _client(self, service: Service, region: str) -> Any:
        key = (service, region, self._endpoint_key(), self.fingerprint, self.connection.timeout_s)
        with _cache_lock:
            client = _cache.get(key)
            if client is not None:
                _cache.move_to_end(key)
                return client
            # endpoint_url=None lets boto3 apply AWS_ENDPOINT_URL[_BEDROCK[_RUNTIME]] itself.
            # Any: the stubs type `client()` per service literal; runtime()/control() re-type.
            session: Any = self._session(region)
            client = session.client(
                service,
                region_name=region,
                endpoint_url=self.connection.base_url or None,
                config=client_config(self.connection.timeout_s),
                **self._key_arguments(),
            )
            _cache[key] = client
            if len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
            return client

    def runtime(self, region: str) -> BedrockRuntimeClient:
        client: BedrockRuntimeClient = self._client("bedrock-runtime", region)
        return client

    def control(self, region: str) -> BedrockClient:
        client: BedrockClient = self._client("bedrock", region)
        return client
