"""`myia users`: the first admin without SQL, passwords never as arguments."""

from __future__ import annotations

import json

from myia.auth.service import authenticate
from myia.db.enums import UserRole
from myia.errors import AuthenticationError
from tests.factories import run_on
from tests.ops.conftest import Invoke, flat


def can_login(db_url: str, email: str, password: str) -> bool:
    async def check(session):  # type: ignore[no-untyped-def]
        try:
            await authenticate(session=session, email=email, password=password)
            return True
        except AuthenticationError:
            return False

    return bool(run_on(db_url, check))


def test_create_an_admin_with_the_password_from_stdin(ops_db: str, invoke: Invoke) -> None:
    result = invoke(
        "users", "create", "--email", "Root@Example.com", "--admin", "--password-stdin",
        input="first-admin-pw\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Created root@example.com (role: admin" in flat(result.stdout)
    assert can_login(ops_db, "root@example.com", "first-admin-pw")
    users = json.loads(invoke("users", "list", "--json").stdout)
    assert [(u["email"], u["role"], u["is_active"]) for u in users] == [
        ("root@example.com", "admin", True)
    ]


def test_the_password_is_never_an_argument(ops_db: str, invoke: Invoke) -> None:
    refused = invoke("users", "create", "--email", "a@example.com", "--password", "pw123456")
    assert refused.exit_code != 0
    # Without a terminal to prompt on and without --password-stdin: a clear refusal.
    no_tty = invoke("users", "create", "--email", "a@example.com")
    assert no_tty.exit_code == 1 and "--password-stdin" in no_tty.stderr
    short = invoke("users", "create", "--email", "a@example.com", "--password-stdin", input="x\n")
    assert short.exit_code == 1 and "6 to 200 characters" in flat(short.stderr)
    assert json.loads(invoke("users", "list", "--json").stdout) == []


def test_set_role_disable_and_reset_password(ops_db: str, invoke: Invoke) -> None:
    create = ("users", "create", "--email", "bob@example.com", "--password-stdin")
    assert invoke(*create, input="bob-password\n").exit_code == 0
    assert invoke(*create, input="bob-password\n").exit_code == 1  # already exists

    promoted = invoke("users", "set-role", "bob@example.com", "admin")
    assert promoted.exit_code == 0 and "now has the role admin" in promoted.stdout
    users = json.loads(invoke("users", "list", "--json").stdout)
    assert users[0]["role"] == UserRole.ADMIN.value

    # Destructive: refuses without --yes off a terminal; --dry-run changes nothing.
    assert invoke("users", "disable", "bob@example.com").exit_code == 1
    dry = invoke("users", "disable", "bob@example.com", "--dry-run")
    assert dry.exit_code == 0 and "Dry run: nothing was changed." in dry.stdout
    assert can_login(ops_db, "bob@example.com", "bob-password")
    assert invoke("users", "disable", "bob@example.com", "--yes").exit_code == 0
    assert not can_login(ops_db, "bob@example.com", "bob-password")
    assert json.loads(invoke("users", "list", "--json").stdout)[0]["is_active"] is False
    assert invoke("users", "enable", "bob@example.com").exit_code == 0

    reset = invoke("users", "reset-password", "bob@example.com", "--password-stdin",
                   input="new-bob-password\n")  # fmt: skip
    assert reset.exit_code == 0, reset.output
    assert can_login(ops_db, "bob@example.com", "new-bob-password")
    assert not can_login(ops_db, "bob@example.com", "bob-password")
    missing = invoke("users", "set-role", "nobody@example.com", "admin")
    assert missing.exit_code == 1 and "nobody@example.com" in missing.stderr
