"""Operations tests: the operator's commands on a fresh database of each backend."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from myia.cli import console as console_module
from myia.cli.main import app
from myia.config import reset_settings_cache
from tests.sim_support import free_port

Invoke = Callable[..., Result]
REPO = Path(__file__).resolve().parents[2]
MYIA = str(Path(sys.executable).with_name("myia"))


@pytest.fixture
def ops_db(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """The CLI pointed at this test's database (test mode, no log sink, wide console)."""
    monkeypatch.setenv("MYIA_MODE", "test")
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("LOG_TO_DB", "false")
    monkeypatch.setenv("BACKUP_DIR", str(tmp_path / "backups"))
    for name in ("REDIS_URL", "QUEUE_URL", "MYIA_VALIDATE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(console_module.console, "width", 220)
    reset_settings_cache()
    yield db_url
    reset_settings_cache()


@pytest.fixture
def invoke() -> Invoke:
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input)

    return run


def flat(text: str) -> str:
    return " ".join(text.split())


def wait_for(predicate: Callable[[], bool], *, deadline_s: float = 90.0, what: str) -> None:
    """Poll until `predicate()` holds; a generous bound, never a fixed sleep."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what} after {deadline_s:g}s")


class Server:
    """`myia serve` as a real process on a free loopback port."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [MYIA, "serve", "--port", str(self.port)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )

    def healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"myia serve exited with {self.process.returncode}")
        try:
            return httpx.get(f"{self.url}/api/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self._log.close()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[str], Server]]:
    started: list[Server] = []

    def start(db_url: str) -> Server:
        env = {
            **os.environ,
            "MYIA_MODE": "test",
            "DATABASE_URL": db_url,
            "LOG_TO_DB": "false",
            "WORKER_HEARTBEAT_S": "1",
        }
        for name in ("REDIS_URL", "QUEUE_URL"):
            env.pop(name, None)
        server = Server(env, tmp_path / f"serve-{len(started)}.log")
        started.append(server)
        wait_for(server.healthy, what="myia serve to answer /api/health")
        return server

    yield start
    for server in started:
        server.stop()
