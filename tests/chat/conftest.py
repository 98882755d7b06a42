"""Chat test support: the simulator, a catalog pointing at it, certified routes, SSE parsing."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession

from myia.api.app import create_app
from myia.sim import SimServer, load_scenario, running_simulator
from tests.conftest import make_settings
from tests.factories import SIM_AWS_ENV, make_certification, make_sim_catalog

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
STREAMING_PASSED = [{"name": "streaming", "capability": "streaming", "status": "passed"}]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with running_simulator(load_scenario(SCENARIOS / "test-basic.yaml")) as server:
        yield server


@pytest.fixture
def sim_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The platform's credentials for the simulator (the providers' standard chains)."""
    for name, value in SIM_AWS_ENV.items():
        monkeypatch.setenv(name, value)


async def certified_catalog(session: AsyncSession, sim: SimServer) -> dict[str, Any]:
    """Every test-basic chat model in the catalog; gpt-4o (openai) and Claude 3.5 Sonnet v2
    (Bedrock, us-east-1) certified with streaming."""
    deployments = await make_sim_catalog(session, sim.scenario, sim.base_url)
    by_id = {d.deployment_id: d for d in deployments}
    gpt = by_id["gpt-4o"]
    claude = by_id["anthropic.claude-3-5-sonnet-20241022-v2:0"]
    await make_certification(
        session, deployment=gpt, region="global", test_results=STREAMING_PASSED
    )
    await make_certification(
        session, deployment=claude, region="us-east-1", test_results=STREAMING_PASSED
    )
    return {"gpt": gpt, "claude": claude, "all": by_id}


def parse_sse(body: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in body.strip().split("\n\n"):
        name, data = "", ""
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data += line[len("data: ") :]
        events.append((name, json.loads(data) if data else {}))
    return events


async def send(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    chat_id: str,
    content: str,
    model: str = "gpt-4o",
    **extra: Any,
) -> list[tuple[str, dict[str, Any]]]:
    response = await client.post(
        f"/api/v2/chats/{chat_id}/messages",
        json={"content": content, "model": model, **extra},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse_sse(response.text)


class AppServer:
    """`create_app` under uvicorn in a thread, on a port of its own (real HTTP, real SSE)."""

    def __init__(self, db_url: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.settings = make_settings(DATABASE_URL=db_url)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> AppServer:
        config = uvicorn.Config(
            create_app(self.settings), host="127.0.0.1", port=self.port, log_config=None,
            log_level="warning",
        )  # fmt: skip
        server = self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: asyncio.run(server.serve()))
        self._thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/health", timeout=2).status_code < 500:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("the app did not start")

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=60)
