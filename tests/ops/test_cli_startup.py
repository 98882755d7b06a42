"""A quick CLI: `myia --help` imports none of the heavy SDKs nor the ORM; `myia models list`
no SDK. Each command is lazy, and its help line in main.py is its own docstring's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from myia.cli.lazy import load_command
from myia.cli.main import LAZY_COMMANDS

HEAVY = ("boto3", "botocore", "openai", "sqlalchemy")

MYIA = str(Path(sys.executable).with_name("myia"))


def imported_by(*args: str, env: dict[str, str] | None = None) -> list[str]:
    """Run the installed `myia` script as a process; the heavy packages it imported, read
    from `python -X importtime` (one stderr line per module imported)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", MYIA, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    names = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    return sorted(names & set(HEAVY))


def test_help_imports_no_sdk_and_no_orm() -> None:
    assert imported_by("--help") == []
    assert imported_by("db", "--help") == ["sqlalchemy"]  # a group's help loads its module


def test_models_list_imports_no_provider_sdk(tmp_path: Path, sqlite_template: Path) -> None:
    path = tmp_path / "catalog.db"
    shutil.copyfile(sqlite_template, path)
    env = {**os.environ, "MYIA_MODE": "test", "LOG_TO_DB": "false",
           "DATABASE_URL": f"sqlite+aiosqlite:///{path}"}  # fmt: skip
    assert imported_by("models", "list", env=env) == ["sqlalchemy"]


@pytest.mark.parametrize("spec", LAZY_COMMANDS, ids=lambda s: s.name)
def test_each_lazy_command_loads_with_its_own_help_line(spec) -> None:  # type: ignore[no-untyped-def]
    command = load_command(spec)
    assert command.name == spec.name
    first_line = (command.help or "").strip().splitlines()[0]
    assert first_line == spec.help, f"update {spec.name}'s help line in LAZY_COMMANDS (cli/main.py)"
