"""Every shell block of docs/operations.md runs, as written and in order, against a scratch
installation (SQLite and PostgreSQL) with `myia serve` answering where the page says
127.0.0.1:8000: the operations guide cannot drift from the commands."""

from __future__ import annotations

import asyncio
import functools
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import _pg_admin, _pg_url
from tests.ops.conftest import REPO, Server, wait_for

DOC = REPO / "docs" / "operations.md"
BLOCK = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)
DOC_SERVER = "127.0.0.1:8000"


def shell_blocks() -> list[str]:
    return BLOCK.findall(DOC.read_text(encoding="utf-8"))


def validates(url: str, env: dict[str, str]) -> bool:
    check = ["myia", "validate", "--url", url, "--json"]
    return subprocess.run(check, env=env, capture_output=True).returncode == 0


@pytest.fixture
def scratch_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A second, empty database of the same backend, for the restore drill."""
    if db_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
        return
    name = f"myia_t_drill_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_the_page_has_its_shell_blocks() -> None:
    blocks = shell_blocks()
    assert len(blocks) >= 10
    text = "\n".join(blocks)
    for command in ("myia users create", "myia validate", "myia health --alerts",
                    "myia db prune", "myia db restore", "myia secrets rotate",
                    "myia jobs clean --yes"):  # fmt: skip
        assert command in text, command


def test_every_shell_block_of_operations_md_runs(
    db_url: str,
    scratch_url: str,
    tmp_path: Path,
    serve: Callable[[str], Server],
) -> None:
    work = tmp_path / "install"
    work.mkdir()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "MYIA_MODE": "test",
        "LOG_TO_DB": "false",
        "DATABASE_URL": db_url,
        "BACKUP_DIR": str(tmp_path / "backups"),
        "ADMIN_PASSWORD": "doc-admin-password",
        "SCRATCH_DATABASE_URL": scratch_url,
    }
    for name in ("QUEUE_URL", "REDIS_URL", "MYIA_VALIDATE_PASSWORD", "NEW_ENCRYPTION_SECRET"):
        env.pop(name, None)
    server: Server | None = None
    for number, block in enumerate(shell_blocks(), start=1):
        if DOC_SERVER in block:
            if server is None:  # started once the schema exists, as an operator would
                server = serve(db_url)
                ready = functools.partial(validates, server.url, env)
                wait_for(ready, what="the server's workers to beat")
            block = block.replace(DOC_SERVER, f"127.0.0.1:{server.port}")
        done = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + block],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, (
            f"block {number} of docs/operations.md failed ({done.returncode}):\n{block}\n"
            f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
        )
    assert server is not None
    # What the blocks did is really there: the admin, the backups, the restored copy.
    users = subprocess.run(["myia", "users", "list", "--json"], env=env, capture_output=True,
                           text=True, check=True).stdout  # fmt: skip
    assert "admin@example.com" in users
    for kind in ("daily", "weekly", "monthly", "drill"):
        assert list((tmp_path / "backups" / kind).glob("myia-*")), kind
    scratch_env = {**env, "DATABASE_URL": scratch_url}
    restored = subprocess.run(["myia", "users", "list", "--json"], capture_output=True,
                              text=True, env=scratch_env, check=True).stdout  # fmt: skip
    assert "admin@example.com" in restored
