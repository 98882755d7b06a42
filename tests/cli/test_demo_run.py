"""`make run` end to end: `myia demo` as a real process, answering over HTTP.

What a newcomer does on a fresh clone, minus the venv: start the demo on a free port with a
new SQLite file, wait for health, log in as the demo user, see a full catalog whose
providers are all labelled simulated, then stop it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.catalog.discovery_sim import expected_chat_models
from tests.sim_support import free_port, myia_command

STARTUP_TIMEOUT_S = 120.0
# The seed's six models, the demo scenario's Bedrock chat models of its three regions, and
# OpenAI's gpt-4o and gpt-4o-mini (every other OpenAI-compatible model comes with the seed).
SEEDED_MODELS = 6
OPENAI_NEW = 2


@pytest.fixture
def demo_process(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        # The embedded defaults, as on a fresh clone: no queue or cache server, no secrets.
        if k not in {"QUEUE_URL", "REDIS_URL", "MYIA_MODE", "ENCRYPTION_SECRET", "JWT_SECRET"}
    }
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    process = subprocess.Popen(
        [*myia_command(), "demo", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl-C after `make run` sends
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_healthy(base: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"myia demo exited with {process.returncode}:\n{output}")
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"myia demo did not answer /api/health within {STARTUP_TIMEOUT_S:.0f} s")


def test_myia_demo_serves_a_full_simulated_catalog(
    demo_process: tuple[str, subprocess.Popen[str]],
) -> None:
    base, process = demo_process
    _wait_healthy(base, process)

    login = httpx.post(
        f"{base}/api/auth/login", json={"email": "leo@leo.com", "password": "leoleo"}, timeout=10
    )
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

    bedrock = set().union(
        *(expected_chat_models(r) for r in ("us-east-1", "us-west-2", "eu-west-1"))
    )
    deployments = httpx.get(
        f"{base}/api/v2/deployments", params={"page_size": 200}, headers=headers, timeout=10
    )
    assert deployments.status_code == 200, deployments.text
    assert deployments.json()["total"] == SEEDED_MODELS + len(bedrock) + OPENAI_NEW
    models = httpx.get(f"{base}/api/v2/models", headers=headers, timeout=10)
    assert models.status_code == 200 and models.json()["total"] >= 80

    providers = httpx.get(f"{base}/api/v2/providers", headers=headers, timeout=10)
    assert providers.status_code == 200, providers.text
    items = providers.json()["items"]
    assert {p["slug"] for p in items} == {"bedrock", "groq", "openai", "together"}
    assert all(p["is_simulated"] and p["name"].endswith("(simulated)") for p in items)
    assert all(p["base_url"].startswith("http://127.0.0.1:") for p in items)
