"""The docs tell the truth: every shell (```bash/sh/shell/console) and ```python block of
README.md and docs/ runs as written, in order, page by page, in a scratch installation
(tests/docs/runner.py), or is marked `<!-- not-run: <reason> -->` on the line before its fence.

One test per page (pytest-xdist spreads pages over workers). Pages run on SQLite, as a reader's
demo install does; docs/operations.md also runs on PostgreSQL its blocks that need no server
(setup, maintenance, the backup and restore drill, the secret rotation): backups and restores
go through pg_dump/psql there.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from myia.sim import load_scenario
from tests.conftest import _pg_admin, _pg_url, require
from tests.docs.runner import (
    APP_PORT,
    REPO,
    Block,
    Scratch,
    collect,
    console_commands,
    doc_pages,
    failure,
)

OPERATIONS = REPO / "docs" / "operations.md"
# Pages whose own blocks build the installation (migrate, seed, first admin): the server they
# talk to is `myia serve` on what they built, started once they reach it.
BUILDS_ITS_INSTALL = {OPERATIONS}
ADMIN_PASSWORD = "doc-admin-password"


def _cases() -> list[object]:
    cases: list[object] = []
    for page in doc_pages():
        if any(block.not_run is None for block in collect(page)):
            name = str(page.relative_to(REPO))
            cases.append(pytest.param(page, "sqlite", id=f"{name}-sqlite"))
    cases.append(pytest.param(OPERATIONS, "postgresql", id="docs/operations.md-postgresql"))
    return cases


def _validates(scratch: Scratch, url: str) -> str | None:
    """The server's embedded workers have beaten (what docs/operations.md's validate checks):
    None once `myia validate` passes, else its answer."""
    check = ["myia", "validate", "--url", url, "--json"]
    done = subprocess.run(check, cwd=scratch.root, env=scratch.env, capture_output=True, text=True)
    return None if done.returncode == 0 else (done.stdout + done.stderr)[-2000:]


@pytest.fixture
def pg_database(pg_available: bool) -> Iterator[Callable[[], str]]:
    """Empty PostgreSQL databases made on demand, dropped after the test."""
    require("PostgreSQL", pg_available)
    made: list[str] = []

    def make() -> str:
        name = f"myia_t_doc_{uuid.uuid4().hex[:10]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return _pg_url(name)

    yield make
    for name in made:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.mark.parametrize(("page", "backend"), _cases())
def test_the_blocks_of_a_page_run(
    page: Path, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    root = tmp_path / "install"
    root.mkdir()
    blocks = [block for block in collect(page) if block.not_run is None]
    extra = {
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "BACKUP_DIR": str(tmp_path / "backups"),
        "SCRATCH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}",
    }
    database_url = "sqlite+aiosqlite:///var/demo.db"
    if backend == "postgresql":
        make = request.getfixturevalue("pg_database")
        database_url, extra["SCRATCH_DATABASE_URL"] = make(), make()
        # Without a server: the page's CLI blocks, backup and restore on PostgreSQL.
        blocks = [block for block in blocks if not APP_PORT.search(block.code)]
    scratch = Scratch.create(root, database_url, **extra)
    if page in BUILDS_ITS_INSTALL:
        scratch.server = "serve"
        scratch.ready = _validates
    try:
        for block in blocks:
            code = scratch.prepare(block)
            outcome = scratch.run(block)
            assert outcome.returncode == 0, failure(block, code, outcome, scratch.server_log())
    finally:
        scratch.close()
    if page == OPERATIONS:
        _the_operations_drill_left_its_traces(scratch, tmp_path, backend)


def _the_operations_drill_left_its_traces(scratch: Scratch, tmp_path: Path, backend: str) -> None:
    """What docs/operations.md's blocks did is really there: the admin, the backups of each
    schedule, the restored copy."""
    env = scratch.env
    listed = functools.partial(
        subprocess.run, ["myia", "users", "list", "--json"], cwd=scratch.root,
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "admin@example.com" in listed(env=env).stdout
    for kind in ("daily", "weekly", "monthly", "drill"):
        assert list((tmp_path / "backups" / kind).glob("myia-*")), (backend, kind)
    restored = listed(env={**env, "DATABASE_URL": env["SCRATCH_DATABASE_URL"]}).stdout
    assert "admin@example.com" in restored


def test_every_block_is_run_or_marked_with_a_reason() -> None:
    """Counted per page: a block is run by the test above unless its marker says why not."""
    run = marked = 0
    per_page: dict[str, tuple[int, int]] = {}
    for page in doc_pages():
        blocks = collect(page)  # raises on a marker without a reason
        page_run = sum(block.not_run is None for block in blocks)
        page_marked = sum(block.not_run is not None for block in blocks)
        assert all(block.not_run is None or block.not_run.strip() for block in blocks)
        per_page[str(page.relative_to(REPO))] = (page_run, page_marked)
        run, marked = run + page_run, marked + page_marked
    assert run + marked == sum(sum(counts) for counts in per_page.values())
    assert run >= 3 * marked, per_page  # the docs are mostly runnable, not mostly excuses
    assert per_page["docs/operations.md"][0] >= 10, per_page
    operations = "\n".join(b.code for b in collect(OPERATIONS) if b.not_run is None)
    for command in ("myia users create", "myia validate", "myia health --alerts",
                    "myia db prune", "myia db restore", "myia secrets rotate",
                    "myia jobs clean --yes"):  # fmt: skip
        assert command in operations, command


def test_collect_reads_fences_markers_and_console_prompts(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Intro\n\n```bash\necho one\n```\n\n<!-- not-run: needs real AWS -->\n```sh\naws s3 ls\n"
        "```\n\n```json\n{}\n```\n\n```console\n$ echo two \\\n  three\ntwo three\n```\n"
        "```python\nprint(1)\n```\n",
        encoding="utf-8",
    )
    blocks = collect(page)
    assert [(b.lang, b.line, b.not_run) for b in blocks] == [
        ("bash", 3, None),
        ("sh", 8, "needs real AWS"),
        ("console", 16, None),
        ("python", 21, None),
    ]
    assert console_commands(blocks[2].code) == "echo two \\\n  three\n"
    page.write_text("<!-- not-run: -->\n```bash\necho\n```\n", encoding="utf-8")
    with pytest.raises(ValueError, match="needs a reason"):
        collect(page)
    page.write_text("<!-- not-run: why -->\n\n```bash\necho\n```\n", encoding="utf-8")
    with pytest.raises(ValueError, match="right before a fence"):
        collect(page)


def test_shell_state_carries_from_block_to_block_and_background_processes_end(
    tmp_path: Path,
) -> None:
    page = tmp_path / "page.md"
    page.write_text("", encoding="utf-8")
    scratch = Scratch.create(tmp_path, "sqlite+aiosqlite:///var/demo.db")
    scratch.server = None  # the runner's own behaviour, without a demo to start
    first = Block(page, 1, "bash", "TOKEN=abc\nexport MODE=x\nmkdir -p sub && cd sub\n"
                  "sleep 300 &\necho $! > ../sleeper\n", None)  # fmt: skip
    second = Block(
        page, 2, "bash", 'test "$TOKEN/$MODE" = abc/x\ntest "$(basename "$PWD")" = sub\n', None
    )
    failing = Block(page, 3, "bash", "false\necho never\n", None)
    python = Block(page, 4, "python", "import os\nprint(os.environ['MODE'], os.getcwd())\n", None)
    assert scratch.run(first).returncode == 0
    assert scratch.run(second).returncode == 0
    in_python = scratch.run(python)  # a Python block sees what the shell blocks exported
    assert in_python.returncode == 0 and in_python.stdout.startswith("x "), in_python
    assert in_python.stdout.strip().endswith("/sub")
    outcome = scratch.run(failing)
    assert outcome.returncode != 0 and "never" not in outcome.stdout
    sleeper = int((tmp_path / "sleeper").read_text())
    scratch.close()
    assert _gone(sleeper), "a background process of a block outlived its page"


def _gone(pid: int) -> bool:
    end = time.monotonic() + 30
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # A zombie whose parent (the block's bash) is gone is reaped by init: poll.
        if Path(f"/proc/{pid}/stat").exists() and " Z " in Path(f"/proc/{pid}/stat").read_text():
            return True
        time.sleep(0.1)
    return False


def test_the_scenarios_shown_in_simulator_md_load(tmp_path: Path) -> None:
    """Its ```yaml blocks are scenarios (or parts a reader copies into one): each loads."""
    text = (REPO / "docs" / "simulator.md").read_text(encoding="utf-8")
    scenarios = re.findall(r"^```yaml\n(.*?)^```", text, re.S | re.M)
    assert len(scenarios) >= 4
    for number, scenario in enumerate(scenarios):
        path = tmp_path / f"scenario-{number}.yaml"
        path.write_text(scenario, encoding="utf-8")
        load_scenario(path)  # raises, naming the field, on a scenario that does not load


def test_the_readme_lists_every_page_of_docs() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    listing = readme[readme.index("## Documentation") :]
    missing = [
        str(page.relative_to(REPO))
        for page in doc_pages()[1:]
        if f"`{page.relative_to(REPO)}`" not in listing
    ]
    assert not missing, f"README.md's Documentation section does not name {missing}"
