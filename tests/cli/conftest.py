"""CLI tests: sync on purpose (each command runs its own event loop), env-configured."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from myia.cli import console as console_module
from myia.cli.main import app
from myia.config import reset_settings_cache
from tests.factories import CERTIFY_CLI_ENV

Invoke = Callable[..., Result]


@pytest.fixture
def use_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Callable[[str], Path]]:
    """Point the CLI at a database URL; returns the backup directory it will use."""

    def use(url: str) -> Path:
        backups = tmp_path / "backups"
        monkeypatch.setenv("MYIA_MODE", "test")
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("BACKUP_DIR", str(backups))
        reset_settings_cache()
        return backups

    yield use
    reset_settings_cache()


@pytest.fixture
def cli_db(
    db_url: str, use_database: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> str:
    """The certification commands' setting: simulator credentials, the test's database, and a
    console wide enough that tables do not wrap. Modules that need a catalog extend it."""
    for name, value in CERTIFY_CLI_ENV.items():
        monkeypatch.setenv(name, value)
    use_database(db_url)
    monkeypatch.setattr(console_module.console, "width", 220)
    return db_url


@pytest.fixture
def invoke() -> Invoke:
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input)

    return run


def flat(text: str) -> str:
    """Output with Rich's line wrapping undone, for substring assertions."""
    return " ".join(text.split())
