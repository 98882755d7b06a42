"""What the simulator-driven folders share (tests/queue, tests/faults, tests/gateway,
tests/chat, tests/certification, tests/security, tests/e2e, tests/cli): the provider
simulator on a scenario and its credentials, free loopback ports, the app under uvicorn in a
thread, a Redis and an empty queue database of the test's own.

tests/conftest.py registers this module as a plugin, so its fixtures are there in every
folder: `sim` runs the simulator on `scenario` (test-basic.yaml unless a folder or module
overrides `scenario`), one per module; `sim_credentials` gives a test the platform's AWS
credentials for it (`pytestmark = pytest.mark.usefixtures("sim_credentials")`).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import uvicorn

from myia.api.app import create_app
from myia.sim import Scenario, SimServer, load_scenario, running_simulator
from tests.conftest import _pg_admin, _pg_url, _run, make_settings, require
from tests.factories import SIM_AWS_ENV

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def myia_command() -> list[str]:
    """The `myia` console script of this interpreter's environment (or its module)."""
    script = Path(sys.executable).with_name("myia")
    return [str(script)] if script.exists() else [sys.executable, "-m", "myia.cli.main"]


# --- the simulator ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(SCENARIOS / "test-basic.yaml")


@pytest.fixture(scope="module")
def sim(scenario: Scenario) -> Iterator[SimServer]:
    with running_simulator(scenario) as server:
        yield server


@pytest.fixture
def sim_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The platform's credentials for the simulator (the providers' standard chains)."""
    for name, value in SIM_AWS_ENV.items():
        monkeypatch.setenv(name, value)


# --- services of the test's own ------------------------------------------------------------
@pytest.fixture
def queue_db(pg_available: bool) -> Iterator[str]:
    """An empty PostgreSQL database of the test's own, for SAQ's tables (dropped after)."""
    require("PostgreSQL", pg_available)
    name = f"myia_q_{uuid.uuid4().hex[:12]}"
    _run(_pg_admin(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    _run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class PrivateRedis:
    """A throwaway redis-server on loopback that the test may kill and restart."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A Redis the test may kill: the binary, never the shared server. Under CI=true a
    missing redis-server fails the run like a missing service."""
    require("the redis-server binary", shutil.which("redis-server") is not None)
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


# --- the app over real HTTP ------------------------------------------------------------------
class AppServer:
    """`create_app` under uvicorn in a thread (its own event loop and database connections),
    on a port of its own: for clients that need real HTTP (the openai SDK, SSE, schemathesis).
    Ready once `ready_path` answers below 500."""

    def __init__(self, db_url: str, *, ready_path: str = "/api/health", **settings: Any) -> None:
        self.port = free_port()
        self.ready_path = ready_path
        self.settings = make_settings(DATABASE_URL=db_url, **settings)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> AppServer:
        config = uvicorn.Config(
            create_app(self.settings),
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            log_level="warning",
        )
        server = self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}{self.ready_path}", timeout=5).status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("the app did not start")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=60)

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Serve:
    """One `myia serve` process on a port of its own (the real command: its uvicorn options,
    HTTP protocol and start-up checks), its output to `log` if given."""

    def __init__(self, env: dict[str, str], *, log: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log, "ab") if log is not None else None  # noqa: SIM115
        self.process = subprocess.Popen(
            [*myia_command(), "serve", "--port", str(self.port)],
            env=env,
            stdout=self._log or subprocess.DEVNULL,
            stderr=self._log or subprocess.DEVNULL,
        )

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "myia serve exited"
            try:
                if httpx.get(f"{self.url}/api/health", timeout=2).status_code < 500:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("myia serve did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self._log is not None:
            self._log.close()


class StubProvider:
    """A made-up upstream under uvicorn in a thread, on a port of its own: subclasses give
    `routes()`; `base_url` is its OpenAI-style `/v1`."""

    def __init__(self) -> None:
        self.port = free_port()
        self._server: uvicorn.Server | None = None

    def routes(self) -> list[Any]:
        raise NotImplementedError

    def __enter__(self) -> Any:
        from starlette.applications import Starlette

        config = uvicorn.Config(
            Starlette(routes=self.routes()), host="127.0.0.1", port=self.port, log_config=None
        )
        server = self._server = uvicorn.Server(config)
        threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True).start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "the provider did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.should_exit = True

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"
