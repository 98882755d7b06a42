"""`myia validate` (seed 000 §5.2): every check passes on a good setup with `myia serve`
running; a failing check exits non-zero and says what to run; --json for scripts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from myia.config import reset_settings_cache
from tests.ops.conftest import Invoke, Server, flat, free_port, wait_for

CHECKS = ["database", "schema", "essential data", "queue", "server", "auth", "endpoints"]


def setup(invoke: Invoke) -> None:
    assert invoke("db", "seed").exit_code == 0
    create = ("users", "create", "--email", "ops@example.com", "--admin", "--password-stdin")
    assert invoke(*create, input="ops-password\n").exit_code == 0


def test_every_check_passes_on_a_good_setup(
    ops_db: str,
    invoke: Invoke,
    serve: Callable[[str], Server],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    setup(invoke)
    server = serve(ops_db)
    monkeypatch.setenv("MYIA_VALIDATE_PASSWORD", "ops-password")
    args = ("validate", "--url", server.url, "--email", "ops@example.com")
    # The embedded workers' first heartbeat may land just after the server answers.
    wait_for(lambda: invoke(*args, "--json").exit_code == 0, what="validate to pass")
    report = json.loads(invoke(*args, "--json").stdout)
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == CHECKS
    assert all(c["ok"] and not c["skipped"] for c in report["checks"])
    human = invoke(*args)
    assert human.exit_code == 0
    assert "All 7 checks passed" in human.stdout
    assert "4 answered 200" in flat(human.stdout)


def test_a_failing_check_exits_non_zero(ops_db: str, invoke: Invoke) -> None:
    setup(invoke)
    nobody = f"http://127.0.0.1:{free_port()}"  # no server there
    result = invoke("validate", "--url", nobody, "--json")
    assert result.exit_code == 1
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert list(checks) == CHECKS
    assert all(checks[name]["ok"] for name in ("database", "schema", "essential data"))
    assert not checks["server"]["ok"] and "start `myia serve`" in checks["server"]["detail"]
    assert not checks["queue"]["ok"]  # no server: no embedded worker alive
    human = invoke("validate", "--url", nobody)
    assert human.exit_code == 1
    assert "❌ server" in human.stdout and "check(s) failed" in human.stderr


def test_an_unmigrated_database_fails_the_schema_check(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYIA_MODE", "test")
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    reset_settings_cache()
    try:
        result = invoke("validate", "--url", f"http://127.0.0.1:{free_port()}", "--json")
    finally:
        reset_settings_cache()
    assert result.exit_code == 1
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["database"]["ok"]
    assert not checks["schema"]["ok"] and "myia db migrate" in checks["schema"]["detail"]
    assert not checks["essential data"]["ok"]


def test_no_admin_fails_essential_data(ops_db: str, invoke: Invoke) -> None:
    assert invoke("db", "seed").exit_code == 0
    result = invoke("validate", "--url", f"http://127.0.0.1:{free_port()}", "--json")
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert not checks["essential data"]["ok"]
    assert "myia users create --email … --admin" in checks["essential data"]["detail"]
