"""The app under uvicorn in a thread, on its own port, for tests that need a real HTTP server
(schemathesis runs as a separate process and speaks to it over loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from myia.db.enums import UserRole
from tests.factories import make_small_catalog, make_user, run_on
from tests.sim_support import AppServer


class LiveApp(AppServer):
    """Ready once it serves its OpenAPI document."""

    def __init__(self, db_url: str, **settings: Any) -> None:
        super().__init__(db_url, ready_path="/openapi.json", **settings)

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
