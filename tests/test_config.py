"""Secrets at startup: production refuses missing, default and short secrets, naming them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from myia.cli.main import app
from myia.config import (
    DEMO_ENCRYPTION_SECRET,
    DEMO_JWT_SECRET,
    InsecureSettingsError,
    Settings,
    reset_settings_cache,
)

GOOD = "a-long-random-production-secret-0123456789"
SECRET_VARIABLES = ("ENCRYPTION_SECRET", "JWT_SECRET")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    # No developer .env and no inherited secrets may make these tests pass by accident.
    monkeypatch.chdir(tmp_path)
    for variable in SECRET_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    reset_settings_cache()
    yield
    reset_settings_cache()


def _production(**values: str) -> Settings:
    settings: dict[str, Any] = {"MYIA_MODE": "production", **values}
    return Settings(**settings)


def test_production_with_no_secrets_is_refused_naming_the_first() -> None:
    settings = _production()
    assert settings.encryption_secret == "" and settings.jwt_secret == ""
    with pytest.raises(InsecureSettingsError, match="ENCRYPTION_SECRET"):
        settings.check_secrets()


@pytest.mark.parametrize("variable", SECRET_VARIABLES)
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "not set"),
        ("changeme", "default value"),
        ("  Secret ", "default value"),
        (DEMO_ENCRYPTION_SECRET, "default value"),
        (DEMO_JWT_SECRET, "default value"),
        ("only-15-chars!!", "too short"),
    ],
)
def test_each_bad_secret_is_refused_by_name(variable: str, value: str, reason: str) -> None:
    values = dict.fromkeys(SECRET_VARIABLES, GOOD)
    values[variable] = value
    with pytest.raises(InsecureSettingsError) as info:
        _production(**values).check_secrets()
    message = str(info.value)
    assert message.startswith(variable) and reason in message
    if len(value) >= 10:
        assert value not in message  # the message never repeats the secret


def test_good_secrets_pass() -> None:
    _production(ENCRYPTION_SECRET=GOOD, JWT_SECRET=GOOD + "-jwt").check_secrets()


@pytest.mark.parametrize("mode", ["demo", "dev", "test"])
def test_lenient_modes_fall_back_to_the_demo_secrets(mode: str) -> None:
    settings = Settings(MYIA_MODE=mode)
    settings.check_secrets()
    assert settings.encryption_secret == DEMO_ENCRYPTION_SECRET
    assert settings.jwt_secret == DEMO_JWT_SECRET
    own = Settings(MYIA_MODE=mode, ENCRYPTION_SECRET=GOOD)
    assert own.encryption_secret == GOOD


def test_production_never_gets_the_demo_secrets() -> None:
    settings = _production(JWT_SECRET=GOOD)
    assert DEMO_ENCRYPTION_SECRET not in (settings.encryption_secret, settings.jwt_secret)


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    # Safety net: if the refusal ever broke, the test must fail rather than serve forever.
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("uvicorn.run reached: the secrets check let the app start")

    monkeypatch.setattr(uvicorn, "run", refuse)


@pytest.mark.parametrize(
    ("present", "missing"), [({}, "ENCRYPTION_SECRET"), ({"ENCRYPTION_SECRET": GOOD}, "JWT_SECRET")]
)
@pytest.mark.usefixtures("no_server")
def test_serve_refuses_to_start_without_secrets(
    monkeypatch: pytest.MonkeyPatch, present: dict[str, str], missing: str
) -> None:
    monkeypatch.setenv("MYIA_MODE", "production")
    for variable, value in present.items():
        monkeypatch.setenv(variable, value)
    reset_settings_cache()
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code != 0
    assert missing in result.output
    assert "uvicorn.run reached" not in str(result.exception)


def test_serve_refuses_a_queue_url_it_cannot_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYIA_MODE", "test")
    monkeypatch.setenv("QUEUE_URL", "ftp://user:hunter2@example.com/queue")
    monkeypatch.setattr(uvicorn, "run", _never_serve)
    reset_settings_cache()
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 1
    assert "QUEUE_URL must be a redis://" in result.output
    assert "hunter2" not in result.output


def _never_serve(*_args: Any, **_kwargs: Any) -> None:
    raise AssertionError("uvicorn.run reached")
