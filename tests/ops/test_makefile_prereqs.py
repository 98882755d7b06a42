"""`make prereqs` (the first step of `make test`) names every system package the suite needs
that is missing, with the Debian package to install, and passes when all are there; PostgreSQL's
server binaries count as present in Debian's /usr/lib/postgresql/<version>/bin, off PATH.
Run with a PATH of fake commands, so the answer does not depend on the machine's packages."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make")

pytestmark = pytest.mark.skipif(MAKE is None, reason="GNU make is not installed")

# Every command the suite runs from the system, and its Debian package.
NEEDED = {
    "pg_dump": "postgresql-client",
    "psql": "postgresql-client",
    "initdb": "postgresql",
    "pg_ctl": "postgresql",
    "redis-server": "redis-server",
    "chromium": "chromium",
    "node": "nodejs",
    "npm": "npm",
    "jq": "jq",
    "curl": "curl",
}


def fake(directory: Path, *names: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = directory / name
        path.write_text("#!/bin/sh\nexit 0\n")
        path.chmod(0o755)


def prereqs(
    tmp_path: Path, on_path: set[str], pg_bindirs: str = "/nonexistent/*/bin"
) -> subprocess.CompletedProcess[str]:
    bindir = tmp_path / "bin"
    fake(bindir, *on_path)
    assert MAKE is not None
    return subprocess.run(
        [MAKE, "-s", "-f", str(REPO / "Makefile"), "prereqs", f"PG_BINDIRS={pg_bindirs}"],
        cwd=tmp_path,
        env={"PATH": str(bindir)},  # make runs /bin/sh by its path: PATH is only the fakes
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_makefile_names_every_command_the_suite_needs() -> None:
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    prereqs_line = text[text.index("PREREQS :=") : text.index("PG_BINDIRS ?=")]
    pairs = dict(pair.split(":") for pair in prereqs_line.replace("\\", " ").split()[2:])
    assert pairs == NEEDED


def test_everything_present_passes_in_silence(tmp_path: Path) -> None:
    done = prereqs(tmp_path, set(NEEDED))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_nothing_present_names_each_package_once(tmp_path: Path) -> None:
    done = prereqs(tmp_path, set())
    assert done.returncode != 0
    packages = list(dict.fromkeys(NEEDED.values()))
    assert f"sudo apt-get install {' '.join(packages)}" in done.stdout
    assert f"commands not found: {' '.join(NEEDED)}" in done.stdout


def test_postgres_server_binaries_off_path_are_found_where_debian_puts_them(
    tmp_path: Path,
) -> None:
    fake(tmp_path / "lib" / "postgresql" / "15" / "bin", "initdb", "pg_ctl")
    on_path = set(NEEDED) - {"initdb", "pg_ctl"}
    assert prereqs(tmp_path, on_path).returncode != 0
    done = prereqs(tmp_path, on_path, pg_bindirs=f"{tmp_path}/lib/postgresql/*/bin")
    assert done.returncode == 0, done.stdout


def test_only_the_server_binaries_missing_names_postgresql(tmp_path: Path) -> None:
    done = prereqs(tmp_path, set(NEEDED) - {"pg_ctl"})
    assert done.returncode != 0
    assert "missing here: postgresql\n" in done.stdout
    assert "sudo apt-get install postgresql\n" in done.stdout
    assert "postgresql-client" not in done.stdout


def test_a_python_without_venv_support_is_refused_naming_the_debian_package(
    tmp_path: Path,
) -> None:
    """Debian's python3 cannot `-m venv` without python3.N-venv (no ensurepip)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    python = bindir / "python3.13"
    python.write_text(
        f'#!/bin/sh\ncase "$*" in *ensurepip*) exit 1;; esac\nexec "{sys.executable}" "$@"\n'
    )
    python.chmod(0o755)
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("")
    assert MAKE is not None
    done = subprocess.run(
        [MAKE, "-s", "-f", str(REPO / "Makefile"), "install", "PY=python3.13"],
        cwd=project,
        env={"PATH": f"{bindir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert done.returncode != 0
    assert f"sudo apt-get install python{version}-venv" in done.stdout, done.stdout
    assert not (project / ".venv").exists()
