"""`myia catalog export` / `import` through CliRunner, on both databases: the round trip through
an empty database gives the same bytes, a second import changes nothing, one bad entry changes
nothing and is named, --dry-run writes nothing, --prune asks, secrets never leave."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.cli.console import console
from myia.config import reset_settings_cache
from myia.credentials import service as credentials
from myia.credentials.schemas import CredentialInput
from myia.db.enums import UserRole
from myia.db.models import ModelDeployment, Provider
from tests.catalog.transfer_catalog import PROFILE_ID, add_rich_catalog
from tests.cli.conftest import Invoke, flat
from tests.cli.ptys import PtyProcess
from tests.factories import bearer_headers, make_user, run_on
from tests.maintenance.databases import row_counts, seed
from tests.sim_support import AppServer

UseDatabase = Callable[[str], Path]
CATALOG_TABLES = ["providers", "base_models", "model_deployments", "deployment_prices"]


@pytest.fixture
def catalog_db(db_url: str, use_database: UseDatabase, monkeypatch: pytest.MonkeyPatch) -> str:
    seed(db_url, demo=False)
    run_on(db_url, add_rich_catalog)
    use_database(db_url)
    monkeypatch.setattr(console, "_width", 250)
    return db_url


def _export(invoke: Invoke, path: Path) -> bytes:
    result = invoke("catalog", "export", "-o", str(path))
    assert result.exit_code == 0, result.output
    return path.read_bytes()


def test_export_reset_import_export_gives_the_same_bytes(
    catalog_db: str, invoke: Invoke, tmp_path: Path
) -> None:
    first = _export(invoke, tmp_path / "first.yaml")
    text = first.decode()
    assert "id:" not in text.replace("deployment_id:", "")  # natural keys only
    assert f"deployment_id: {PROFILE_ID}" in text and "region: eu-central-1" in text

    assert invoke("db", "reset", "--yes").exit_code == 0
    assert set(row_counts(catalog_db, CATALOG_TABLES).values()) == {0}

    dry = invoke("catalog", "import", str(tmp_path / "first.yaml"), "--dry-run")
    assert dry.exit_code == 0, dry.output
    out = flat(dry.output)
    assert "providers: 5 created, 0 updated, 0 unchanged" in out
    assert "deployments: 10 created" in out and "Dry run:" in out
    assert f"+ deployments acme-sim/{PROFILE_ID}" in out
    assert set(row_counts(catalog_db, CATALOG_TABLES).values()) == {0}

    applied = invoke("catalog", "import", str(tmp_path / "first.yaml"))
    assert applied.exit_code == 0, applied.output
    assert "changes written" in applied.output
    second = _export(invoke, tmp_path / "second.yaml")
    assert second == first

    history = row_counts(catalog_db, ["price_history"])
    again = invoke("catalog", "import", str(tmp_path / "second.yaml"))
    assert again.exit_code == 0, again.output
    assert "0 changes: the catalog already matches the file." in flat(again.output)
    assert "deployments: 0 created, 0 updated, 10 unchanged" in flat(again.output)
    assert row_counts(catalog_db, ["price_history"]) == history


def test_one_bad_entry_changes_nothing_and_is_named(
    catalog_db: str, invoke: Invoke, tmp_path: Path
) -> None:
    before = _export(invoke, tmp_path / "before.yaml")
    text = before.decode()
    # A valid change (a provider's name) beside one invalid price.
    bad = text.replace("name: Groq\n", "name: Groq Cloud\n").replace(
        "cost_per_1m_input: 0.3\n", "cost_per_1m_input: -1\n"
    )
    assert bad.count("cost_per_1m_input: -1\n") == 1
    (tmp_path / "bad.yaml").write_text(bad)
    result = invoke("catalog", "import", str(tmp_path / "bad.yaml"))
    assert result.exit_code == 1
    out = flat(result.output)
    assert (
        "deployments[8] (together/Qwen/Qwen2.5-7B-Instruct-Turbo): cost_per_1m_input: "
        "Input should be greater than or equal to 0" in out
    )
    assert "1 problem in the file: nothing was changed" in out
    assert _export(invoke, tmp_path / "after.yaml") == before


def test_dry_run_shows_the_diff_and_writes_nothing(
    catalog_db: str, invoke: Invoke, tmp_path: Path
) -> None:
    before = _export(invoke, tmp_path / "before.yaml")
    changed = before.decode().replace("name: Groq\n", "name: Groq Cloud\n")
    changed = changed.replace(
        "cost_per_1m_input: 3.0\n  cost_per_1m_output: 15.0\n  cost_per_hour: null\n"
        "  price_source_kind: bundled\n  price_source_name: Acme pricing\n",
        "cost_per_1m_input: 2.5\n  cost_per_1m_output: 15.0\n  cost_per_hour: null\n"
        "  price_source_kind: operator\n  price_source_name: Acme pricing\n",
    )
    (tmp_path / "changed.yaml").write_text(changed)
    history = row_counts(catalog_db, ["price_history"])

    dry = invoke("catalog", "import", str(tmp_path / "changed.yaml"), "--dry-run")
    assert dry.exit_code == 0, dry.output
    out = flat(dry.output)
    assert "~ providers groq: name: 'Groq' → 'Groq Cloud'" in out
    assert (
        f"~ deployments acme-sim/{PROFILE_ID}: cost_per_1m_input: 3.0 → 2.5; "
        "price_source_kind: bundled → operator" in out
    )
    assert "providers: 0 created, 1 updated, 4 unchanged" in out
    assert "Dry run: 2 changes; nothing was written." in out
    assert _export(invoke, tmp_path / "after-dry.yaml") == before
    assert row_counts(catalog_db, ["price_history"]) == history

    assert invoke("catalog", "import", str(tmp_path / "changed.yaml")).exit_code == 0
    assert _export(invoke, tmp_path / "after.yaml").decode() == changed
    # The price change kept its history (one row, via the import).
    assert row_counts(catalog_db, ["price_history"])["price_history"] == (
        history["price_history"] + 1
    )


def test_prune_lists_what_it_deletes_and_asks(
    catalog_db: str, invoke: Invoke, tmp_path: Path
) -> None:
    text = _export(invoke, tmp_path / "all.yaml").decode()
    (tmp_path / "fewer.yaml").write_text(_without(text, "acme.anvil-legacy-2"))

    plain = invoke("catalog", "import", str(tmp_path / "fewer.yaml"))
    assert plain.exit_code == 0, plain.output
    assert "deployments: 0 created, 0 updated, 9 unchanged, 1 not in the file (kept)" in flat(
        plain.output
    )

    refused = invoke("catalog", "import", str(tmp_path / "fewer.yaml"), "--prune")
    assert refused.exit_code == 1
    out = flat(refused.output)
    assert "--prune deletes 1 rows the file does not name:" in out
    assert "- deployments acme-sim/acme.anvil-legacy-2" in out
    assert "refusing to prune the catalog without --yes" in out
    assert row_counts(catalog_db, ["model_deployments"]) == {"model_deployments": 10}

    pruned = invoke("catalog", "import", str(tmp_path / "fewer.yaml"), "--prune", "--yes")
    assert pruned.exit_code == 0, pruned.output
    assert "deployments: 0 created, 0 updated, 9 unchanged, 1 deleted" in flat(pruned.output)
    assert row_counts(catalog_db, ["model_deployments"]) == {"model_deployments": 9}


def _without(text: str, deployment_id: str) -> str:
    head, _, deployments = text.partition("deployments:\n")
    entries = ("\n" + deployments).split("\n- ")[1:]
    kept = [e for e in entries if f"deployment_id: {deployment_id}\n" not in e]
    assert len(kept) == len(entries) - 1
    return head + "deployments:\n" + "".join(f"- {e}\n" for e in kept).replace("\n\n", "\n")


def test_prune_asks_on_a_terminal_and_deletes_on_yes(
    catalog_db: str, invoke: Invoke, tmp_path: Path
) -> None:
    text = _export(invoke, tmp_path / "all.yaml").decode()
    (tmp_path / "fewer.yaml").write_text(_without(text, "acme.anvil-legacy"))
    env = {**os.environ, "DATABASE_URL": catalog_db, "NO_COLOR": "1"}
    child = PtyProcess(
        ["catalog", "import", str(tmp_path / "fewer.yaml"), "--prune"], env=env, cwd=tmp_path
    )
    try:
        child.expect(r"- deployments acme-sim/acme\.anvil-legacy\n", timeout=60)
        child.expect(r"Delete these 1 rows \(certifications go with them\)\? \[y/N\]")
        assert row_counts(catalog_db, ["model_deployments"]) == {"model_deployments": 10}
        child.send("y\n")
        assert child.wait(timeout=60) == 0
    finally:
        child.close()
    assert "1 deleted" in child.text
    assert row_counts(catalog_db, ["model_deployments"]) == {"model_deployments": 9}


def test_secrets_never_appear_in_an_export(catalog_db: str, invoke: Invoke, tmp_path: Path) -> None:
    secrets = [
        "AKIAABCDEFGHIJKLWXYZ",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "sk-live-abcdef123456",
    ]

    async def store(session: AsyncSession) -> None:
        user = await make_user(session)
        await credentials.upsert_credential(
            session=session,
            user_id=user.id,
            provider_slug="acme-sim",
            data=CredentialInput.model_validate(
                {"access_key_id": secrets[0], "secret_access_key": secrets[1]}
            ),
            secret="transfer-test-secret-0123456789",
        )
        # Two places an operator could paste a secret by mistake.
        groq = await session.scalar(select(Provider).where(Provider.slug == "groq"))
        assert groq is not None
        groq.base_url = f"https://bob:hunter2-password@api.groq.com/openai/v1?api_key={secrets[2]}"
        row = await session.scalar(
            select(ModelDeployment).where(ModelDeployment.deployment_id == PROFILE_ID)
        )
        assert row is not None
        row.provider_config = {**(row.provider_config or {}), "api_key": secrets[2]}
        await session.commit()

    run_on(catalog_db, store)
    result = invoke("catalog", "export")
    assert result.exit_code == 0, result.output
    for secret in [*secrets, "hunter2-password", "bob:"]:
        assert secret not in result.stdout
    assert "https://api.groq.com/openai/v1" in result.stdout
    assert "inference_profiles" in result.stdout  # the rest of the config stays
    warnings = flat(result.output)
    assert "providers[groq].base_url: credentials in the URL" in warnings
    assert f"deployments[acme-sim/{PROFILE_ID}].provider_config.api_key" in warnings


def test_a_running_server_sees_the_import_at_once(
    catalog_db: str,
    invoke: Invoke,
    tmp_path: Path,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server caches the catalog for an hour here: only the import's invalidation, over
    Redis, can make it answer with the new name."""
    text = _export(invoke, tmp_path / "catalog.yaml").decode()
    (tmp_path / "renamed.yaml").write_text(text.replace("name: Groq\n", "name: Groq Cloud\n"))
    headers = run_on(catalog_db, lambda session: bearer_headers(session, role=UserRole.ADMIN))
    monkeypatch.setenv("REDIS_URL", redis_url)
    reset_settings_cache()

    def groq_name(server: AppServer) -> str:
        answer = httpx.get(f"{server.url}/api/v2/providers", headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text
        return next(p["name"] for p in answer.json()["items"] if p["slug"] == "groq")

    with AppServer(catalog_db, REDIS_URL=redis_url, CATALOG_CACHE_TTL_S=3600) as server:
        assert groq_name(server) == "Groq"
        result = invoke("catalog", "import", str(tmp_path / "renamed.yaml"))
        assert result.exit_code == 0, result.output
        deadline = time.monotonic() + 30
        while groq_name(server) != "Groq Cloud":
            assert time.monotonic() < deadline, "the server kept its cached catalog"
            time.sleep(0.1)
