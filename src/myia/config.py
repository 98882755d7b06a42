"""One settings object for the whole application, read from the environment.

Outside demo/dev mode the settings refuse missing or placeholder secrets and say which
variable to set: a platform that stores provider credentials must not run with a key
anyone can read in this repository.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Secrets used only in demo/dev mode. They are public by design (they are in the repo), which
# is exactly why production refuses them.
DEMO_ENCRYPTION_SECRET = "myia-demo-encryption-secret-not-for-production"
DEMO_JWT_SECRET = "myia-demo-jwt-secret-not-for-production"
_PLACEHOLDERS = {"", "changeme", "change-me", "secret", DEMO_ENCRYPTION_SECRET, DEMO_JWT_SECRET}
MIN_SECRET_LENGTH = 16

DEFAULT_DB_PATH = Path("var") / "myia.db"


class InsecureSettingsError(ValueError):
    """Raised when the app would start with a missing or default secret."""


def secret_problem(variable: str, value: str) -> str | None:
    """Why `value` is unfit as the secret `variable` (never quoting it), or None if it is fine.

    Shared by the startup check and `myia secrets rotate`, so a rotation cannot move the
    credentials onto a secret the app would then refuse to start with.
    """
    if value.strip().lower() in _PLACEHOLDERS:
        return (
            f"{variable} is not set or is a default value. Set {variable} to a long "
            f"random string (e.g. `python -c 'import secrets; "
            f"print(secrets.token_urlsafe(48))'`)."
        )
    if len(value) < MIN_SECRET_LENGTH:
        return (
            f"{variable} is too short ({len(value)} characters); use at least {MIN_SECRET_LENGTH}."
        )
    return None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    mode: Literal["production", "dev", "demo", "test"] = Field(
        default="production", validation_alias="MYIA_MODE"
    )
    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{DEFAULT_DB_PATH}", validation_alias="DATABASE_URL"
    )
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    encryption_secret: str = Field(default="", validation_alias="ENCRYPTION_SECRET")
    jwt_secret: str = Field(default="", validation_alias="JWT_SECRET")
    jwt_ttl_minutes: int = Field(default=60 * 12, ge=1, validation_alias="JWT_TTL_MINUTES")
    # The browser session's lifetime, apart from the API's bearer tokens: 8 h, one working
    # day, so nobody is sent to /login mid-day, while a browser left signed in on a shared or
    # lost machine is signed out by the next morning (a bearer token lives in a script, a
    # cookie on a machine anyone may sit at). A logout ends a session at once anyway
    # (auth/sessions.py); this bounds a session nobody ended.
    web_session_ttl_minutes: int = Field(
        default=60 * 8, ge=1, validation_alias="WEB_SESSION_TTL_MINUTES"
    )
    catalog_cache_ttl_s: float = Field(default=60.0, ge=0, validation_alias="CATALOG_CACHE_TTL_S")
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
    log_to_db: bool = Field(default=True, validation_alias="LOG_TO_DB")
    backup_dir: Path = Field(default=Path("var") / "backups", validation_alias="BACKUP_DIR")
    # Model ids discovery never adds (comma list; empty = none). Nova Sonic lists TEXT output
    # but is a speech-to-speech model that Converse cannot drive (docs/discovery.md).
    discovery_blacklist: str = Field(
        default="amazon.nova-sonic-v1:0,amazon.nova-2-sonic-v1:0",
        validation_alias="DISCOVERY_BLACKLIST",
    )

    # Certification queue (seed 004's settings). QUEUE_URL empty → embedded engine.
    queue_url: str | None = Field(default=None, validation_alias="QUEUE_URL")
    # SAQ queue name: every API process and `myia worker` of one deployment must agree on it.
    queue_name: str = Field(
        default="myia-certification", pattern=r"^[A-Za-z0-9_.-]+$", validation_alias="QUEUE_NAME"
    )
    # Whether this process runs embedded workers (off in tests that must not be disturbed).
    queue_workers_enabled: bool = Field(default=True, validation_alias="QUEUE_WORKERS_ENABLED")
    queue_concurrency: int = Field(default=5, ge=1, le=200, validation_alias="QUEUE_CONCURRENCY")
    queue_item_timeout_s: float = Field(default=30.0, gt=0, validation_alias="QUEUE_ITEM_TIMEOUT_S")
    queue_max_retries: int = Field(default=3, ge=0, validation_alias="QUEUE_MAX_RETRIES")
    queue_retry_backoff_s: float = Field(
        default=5.0, ge=0, validation_alias="QUEUE_RETRY_BACKOFF_S"
    )
    # Give-backs of an item whose core tests transient errors left undecided, before it is
    # recorded INCONCLUSIVE (docs/certification.md, rule 1).
    queue_transient_releases: int = Field(
        default=3, ge=0, validation_alias="QUEUE_TRANSIENT_RELEASES"
    )
    # Attempts per provider call when the error is transient (5xx, 424, timeouts).
    certification_transient_attempts: int = Field(
        default=8, ge=1, validation_alias="CERTIFICATION_TRANSIENT_ATTEMPTS"
    )
    queue_clean_completed_after_h: float = Field(
        default=24.0, gt=0, validation_alias="QUEUE_CLEAN_COMPLETED_H"
    )
    queue_clean_failed_after_h: float = Field(
        default=48.0, gt=0, validation_alias="QUEUE_CLEAN_FAILED_H"
    )
    worker_heartbeat_s: float = Field(default=5.0, gt=0, validation_alias="WORKER_HEARTBEAT_S")
    worker_health_port: int | None = Field(default=None, validation_alias="WORKER_HEALTH_PORT")
    rate_limit_rps: float = Field(default=5.0, gt=0, validation_alias="RATE_LIMIT_RPS")
    # Per-provider starting rates, e.g. "bedrock=10,openai=20".
    rate_limit_overrides: str = Field(default="", validation_alias="RATE_LIMIT_OVERRIDES")
    certification_expiry_days: int = Field(
        default=30, ge=1, validation_alias="CERTIFICATION_EXPIRY_DAYS"
    )
    certification_regions: str = Field(
        default="us-east-1,us-west-2,eu-west-1", validation_alias="CERTIFICATION_REGIONS"
    )

    # Hostile input and brute force (docs/security.md lists each protection and its setting).
    max_request_body_bytes: int = Field(
        default=1_000_000, ge=1024, validation_alias="MAX_REQUEST_BODY_BYTES"
    )
    # The gateway's own (/v1): a phone photo in base64 or a long coding context must fit
    # (docs/gateway.md, "Request size").
    gateway_max_body_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024, validation_alias="GATEWAY_MAX_BODY_BYTES"
    )
    # Browser origins allowed to call /v1 (comma list, e.g. https://app.example.com); empty:
    # CORS off, no browser page of another origin may read a /v1 answer.
    gateway_cors_origins: str = Field(default="", validation_alias="GATEWAY_CORS_ORIGINS")
    # Credential writes (PUT/DELETE /api/credentials/…, the settings page's form) per user in
    # any 60 s; past it 429 with Retry-After (api/credential_writes.py).
    credential_writes_per_minute: int = Field(
        default=10, ge=1, validation_alias="CREDENTIAL_WRITES_PER_MINUTE"
    )
    # None: open in demo/dev/test, closed in production.
    registration_enabled: bool | None = Field(default=None, validation_alias="REGISTRATION_ENABLED")
    # Login throttle (auth/throttle.py): failures per (account, address) answered at once,
    # then waits of 1, 2, 4 s … up to LOGIN_MAX_DELAY_S; failures per address across accounts
    # before that address is blocked for LOGIN_LOCKOUT_S (also how long failures are kept).
    login_max_failures: int = Field(default=5, ge=1, validation_alias="LOGIN_MAX_FAILURES")
    login_max_failures_per_address: int = Field(
        default=20, ge=1, validation_alias="LOGIN_MAX_FAILURES_PER_ADDRESS"
    )
    login_lockout_s: float = Field(default=900.0, gt=0, validation_alias="LOGIN_LOCKOUT_S")
    login_max_delay_s: float = Field(default=900.0, ge=1, validation_alias="LOGIN_MAX_DELAY_S")
    # Longest metrics window (hours) a non-admin / an admin may ask for; longer is a 422
    # naming `hours` (docs/metrics.md). 8784 h = 366 days, the absolute maximum.
    metrics_max_hours_user: float = Field(
        default=168.0, ge=24, le=8784, validation_alias="METRICS_MAX_HOURS_USER"
    )
    metrics_max_hours_admin: float = Field(
        default=8784.0, ge=24, le=8784, validation_alias="METRICS_MAX_HOURS_ADMIN"
    )
    # Percentiles of one metrics request are computed over at most this many calls (the
    # window's newest); counts, errors, tokens and cost always cover the whole window.
    metrics_percentile_rows: int = Field(
        default=100_000, ge=1000, validation_alias="METRICS_PERCENTILE_ROWS"
    )

    @property
    def registration_open(self) -> bool:
        if self.registration_enabled is not None:
            return self.registration_enabled
        return self.mode != "production"

    @property
    def default_regions(self) -> list[str]:
        return [r.strip() for r in self.certification_regions.split(",") if r.strip()]

    @property
    def is_lenient(self) -> bool:
        """Demo, dev and test modes may run on the public demo secrets."""
        return self.mode in ("demo", "dev", "test")

    @model_validator(mode="after")
    def _fill_or_refuse_secrets(self) -> Settings:
        if self.is_lenient:
            self.encryption_secret = self.encryption_secret or DEMO_ENCRYPTION_SECRET
            self.jwt_secret = self.jwt_secret or DEMO_JWT_SECRET
        return self

    def check_secrets(self) -> None:
        """Refuse to serve with a missing or default secret; name the variable to set."""
        if self.is_lenient:
            return
        for variable, value in (
            ("ENCRYPTION_SECRET", self.encryption_secret),
            ("JWT_SECRET", self.jwt_secret),
        ):
            problem = secret_problem(variable, value)
            if problem is not None:
                raise InsecureSettingsError(f"{problem} To try MyIA, run with MYIA_MODE=demo.")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    """Forget the cached settings (tests and the CLI change the environment)."""
    get_settings.cache_clear()
