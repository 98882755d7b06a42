"""The app under uvicorn in a thread, on its own port, for tests that need a real HTTP server
(schemathesis runs as a separate process and speaks to it over loopback)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from myia.api.app import create_app
from myia.db.enums import UserRole
from tests.conftest import make_settings
from tests.factories import make_small_catalog, make_user, run_on


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveApp:
    def __init__(self, db_url: str, **settings: Any) -> None:
        self.port = free_port()
        self.settings = make_settings(DATABASE_URL=db_url, **settings)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveApp:
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
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/openapi.json", timeout=5).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the app did not start")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=60)

    def token(self, email: str, password: str = "secret-pw") -> str:
        response = httpx.post(
            f"{self.url}/api/auth/login", json={"email": email, "password": password}, timeout=30
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])


@pytest.fixture
def live_app(db_url: str) -> Iterator[tuple[LiveApp, dict[str, str]]]:
    """A running app with a small catalog, and a bearer token per role."""

    async def seed(session: Any) -> dict[str, str]:
        await make_small_catalog(session)
        user = await make_user(session)
        admin = await make_user(session, role=UserRole.ADMIN)
        return {"user": user.email, "admin": admin.email}

    emails = run_on(db_url, seed)
    app = LiveApp(db_url).start()
    try:
        yield app, {role: app.token(email) for role, email in emails.items()}
    finally:
        app.stop()
