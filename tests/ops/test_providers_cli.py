"""`myia providers list | set-url`: a seeded provider pointed at another endpoint from the CLI,
and the catalog's vendor filter case-insensitive from the CLI too."""

from __future__ import annotations

import json

from tests.ops.conftest import Invoke, flat


def test_set_url_points_a_seeded_provider_elsewhere(ops_db: str, invoke: Invoke) -> None:
    assert invoke("db", "seed").exit_code == 0
    before = {p["slug"]: p for p in json.loads(invoke("providers", "list", "--json").stdout)}
    assert before["groq"]["base_url"] == "https://api.groq.com/openai/v1"
    assert before["groq"]["is_simulated"] is False

    moved = invoke("providers", "set-url", "groq", "http://127.0.0.1:9100/groq/v1/", "--simulated")
    assert moved.exit_code == 0, moved.output
    assert "groq now points at http://127.0.0.1:9100/groq/v1 (simulated)" in flat(moved.stdout)
    after = {p["slug"]: p for p in json.loads(invoke("providers", "list", "--json").stdout)}
    assert after["groq"]["base_url"] == "http://127.0.0.1:9100/groq/v1"
    assert after["groq"]["is_simulated"] is True
    assert after["openai"] == before["openai"]  # only the one named changed

    table = invoke("providers", "list")
    assert table.exit_code == 0 and "http://127.0.0.1:9100/groq/v1" in table.stdout

    bad = invoke("providers", "set-url", "groq", "ftp://example.com")
    assert bad.exit_code == 1 and "http:// or https://" in bad.stderr
    unknown = invoke("providers", "set-url", "nope", "http://127.0.0.1:1")
    assert unknown.exit_code == 1 and "nope" in unknown.stderr


def test_models_list_vendor_filter_ignores_case(ops_db: str, invoke: Invoke) -> None:
    assert invoke("db", "seed").exit_code == 0
    lower = invoke("models", "list", "--vendor", "meta")
    assert lower.exit_code == 0, lower.output
    assert "Llama 3.3 70B" in lower.stdout
    assert invoke("models", "list", "--vendor", "Meta").stdout == lower.stdout
    assert invoke("models", "list", "--vendor", "META").stdout == lower.stdout
