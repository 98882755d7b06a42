"""The Makefile's choice of Python: the newest python3.1x that runs, or PY; a pyenv shim whose
version is installed but not selected ("pyenv: python3.13: command not found") is resolved to
pyenv's own interpreter of that version. Run against a PATH of fake interpreters and a fake
`pyenv`, so the answer does not depend on the Pythons of the machine running the test."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make")

pytestmark = pytest.mark.skipif(MAKE is None, reason="GNU make is not installed")

# What the Makefile's shell snippets run besides shell builtins.
TOOLS = ("ls", "grep", "sort", "tail")
# What `$(PYVER)` says of the fake interpreters: they run this test's Python.
VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"


def script(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def runs(path: Path) -> None:
    """A working interpreter: the one running this test (>= 3.11)."""
    script(path, f'exec "{sys.executable}" "$@"')


def shim(path: Path) -> None:
    """A pyenv shim whose version is not selected: it fails like pyenv's does."""
    script(
        path,
        f'echo "pyenv: {path.name}: command not found" >&2\n'
        f"echo \"The '{path.name}' command exists in these Python versions:\" >&2\nexit 127",
    )


@pytest.fixture
def machine(tmp_path: Path) -> dict[str, Path]:
    """bin/ (what is on PATH), tools/ (ls, grep, ...), a pyenv root with 3.13.2, 3.13.10 and
    3.12.1 installed, and an empty project (the install rule depends on pyproject.toml)."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in TOOLS:
        found = shutil.which(name)
        assert found is not None, name
        (tools / name).symlink_to(found)
    root = tmp_path / "pyenv"
    for version in ("3.13.2", "3.13.10", "3.12.1"):
        minor = ".".join(version.split(".")[:2])
        runs(root / "versions" / version / "bin" / f"python{minor}")
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("")
    return {"bin": tmp_path / "bin", "tools": tools, "root": root, "project": project}


def make(
    machine: dict[str, Path], *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Make with the project's Makefile in the empty project, PATH = bin + tools only (no
    MAKEFLAGS from an outer `make test`, which may carry PY)."""
    assert MAKE is not None
    path = f"{machine['bin']}:{machine['tools']}"
    return subprocess.run(
        [MAKE, "-s", "-f", str(REPO / "Makefile"), *args],
        cwd=machine["project"],
        env={"PATH": path, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def chosen(machine: dict[str, Path], *args: str, env: dict[str, str] | None = None) -> str:
    done = make(machine, "--eval", "show: ; $(info $(PY) $(PYVER))", *args, "show", env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def with_pyenv(machine: dict[str, Path]) -> None:
    script(machine["bin"] / "pyenv", f'[ "$1" = root ] && echo "{machine["root"]}"')


def test_newest_working_python_is_taken(machine: dict[str, Path]) -> None:
    runs(machine["bin"] / "python3.11")
    runs(machine["bin"] / "python3.12")
    assert chosen(machine) == f"python3.12 {VERSION}"
    assert chosen(machine, env={"PY": "python3.11"}) == f"python3.11 {VERSION}"


def test_a_pyenv_shim_not_selected_is_resolved_to_the_newest_installed_patch(
    machine: dict[str, Path],
) -> None:
    with_pyenv(machine)
    runs(machine["bin"] / "python3.11")
    shim(machine["bin"] / "python3.13")
    shim(machine["bin"] / "python3.12")
    newest = machine["root"] / "versions" / "3.13.10" / "bin" / "python3.13"
    # Auto-pick: the shim python3.13 is the newest candidate; 3.13.10 sorts after 3.13.2.
    assert chosen(machine) == f"{newest} {VERSION}"
    # PY in the environment and on make's command line.
    assert chosen(machine, env={"PY": "python3.13"}) == f"{newest} {VERSION}"
    assert chosen(machine, "PY=python3.12") == (
        f"{machine['root'] / 'versions' / '3.12.1' / 'bin' / 'python3.12'} {VERSION}"
    )


def test_without_pyenv_a_failing_shim_is_passed_over(machine: dict[str, Path]) -> None:
    runs(machine["bin"] / "python3.11")
    shim(machine["bin"] / "python3.13")
    assert chosen(machine) == f"python3.11 {VERSION}"


def test_a_version_pyenv_has_not_installed_is_refused_by_name(machine: dict[str, Path]) -> None:
    with_pyenv(machine)
    shim(machine["bin"] / "python3.14")
    done = make(machine, "install", env={"PY": "python3.14"})
    assert done.returncode != 0
    assert "Python >= 3.11 is required" in done.stdout
    assert "PY=python3.14 does not" in done.stdout
    assert not (machine["project"] / ".venv").exists()
