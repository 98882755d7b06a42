"""Demo and dev modes run on public secrets and logins: they listen on loopback unless the
operator says otherwise, explicitly (audit finding 8). Nothing here binds a socket: the
steps after the check are replaced by a stop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner, Result

from myia.cli import demo as demo_cli
from myia.cli import serve as serve_cli
from myia.cli.main import app
from myia.config import InsecureSettingsError, reset_settings_cache
from myia.errors import MyIAError

PUBLIC = ["0.0.0.0", "::", "", "192.168.1.10", "myia.example.org"]
LOCAL = ["127.0.0.1", "127.0.0.2", "::1", "localhost"]
STOP = "stopped after the bind check"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # demo writes MYIA_MODE and DATABASE_URL into os.environ: registered, so restored.
    monkeypatch.setenv("MYIA_MODE", "test")
    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:///never-opened.db")
    monkeypatch.delenv(serve_cli.ALLOW_PUBLIC_ENV, raising=False)
    reset_settings_cache()
    yield
    reset_settings_cache()


@pytest.fixture
def demo_steps(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The demo's first step after the check records itself and stops the command."""
    reached: list[str] = []

    async def prepare(_settings: object) -> None:
        reached.append("prepare")
        raise MyIAError(STOP)

    monkeypatch.setattr(demo_cli, "prepare_demo_database", prepare)
    return reached


@pytest.fixture
def serve_steps(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`myia serve`'s first step after the check (building the app) records itself and stops."""
    import myia.api.app

    reached: list[str] = []

    def create_app(*_args: object, **_kwargs: object) -> None:
        reached.append("create_app")
        raise InsecureSettingsError(STOP)

    monkeypatch.setattr(myia.api.app, "create_app", create_app)
    return reached


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def said(result: Result) -> str:
    return " ".join((result.output + (result.stderr or "")).split())


@pytest.mark.parametrize("host", PUBLIC)
def test_the_demo_refuses_a_public_address(demo_steps: list[str], host: str) -> None:
    result = run("demo", "--host", host, "--port", "8123")
    assert result.exit_code != 0
    assert "--allow-public-demo" in said(result) and serve_cli.ALLOW_PUBLIC_ENV in said(result)
    assert demo_steps == []  # refused before the database, the simulator or a socket


@pytest.mark.parametrize("host", LOCAL)
def test_the_demo_listens_on_loopback(demo_steps: list[str], host: str) -> None:
    result = run("demo", "--host", host)
    assert demo_steps == ["prepare"] and STOP in said(result)


def test_the_demo_goes_public_when_told_by_flag_or_environment(
    demo_steps: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    flagged = run("demo", "--host", "0.0.0.0", "--allow-public-demo")
    assert STOP in said(flagged) and "refusing" not in said(flagged)
    monkeypatch.setenv(serve_cli.ALLOW_PUBLIC_ENV, "1")
    from_env = run("demo", "--host", "0.0.0.0")
    assert STOP in said(from_env) and demo_steps == ["prepare", "prepare"]


@pytest.mark.parametrize("mode", ["demo", "dev"])
def test_serve_in_a_public_secret_mode_refuses_a_public_address(
    serve_steps: list[str], monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv("MYIA_MODE", mode)
    reset_settings_cache()
    refused = run("serve", "--host", "0.0.0.0")
    assert refused.exit_code != 0 and "--allow-public-demo" in said(refused)
    assert mode in said(refused) and serve_steps == []
    allowed = run("serve", "--host", "0.0.0.0", "--allow-public-demo")
    assert STOP in said(allowed) and serve_steps == ["create_app"]


def test_serve_in_production_binds_where_it_is_told(
    serve_steps: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYIA_MODE", "production")
    reset_settings_cache()
    result = run("serve", "--host", "0.0.0.0")
    assert STOP in said(result) and serve_steps == ["create_app"]
