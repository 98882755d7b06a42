"""Every page answers for who may see it, on SQLite and PostgreSQL; CSRF and the session
cookie hold; forms show errors next to their field."""

from __future__ import annotations

import httpx
import pytest

from myia.web.session import SESSION_COOKIE
from tests.web.conftest import ADMIN, USER, csrf_of

USER_PAGES = ["/chat", "/models", "/settings"]
ADMIN_PAGES = [
    "/admin/certifications",
    "/admin/stats",
    "/admin/jobs",
    "/admin/catalog",
    "/admin/discovery",
    "/admin/queue",
    "/admin/health",
    "/admin/logs",
]


async def test_root_sends_a_visitor_to_login_and_pages_need_a_session(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/")
    assert response.status_code == 303 and response.headers["location"] == "/login"
    for path in USER_PAGES + ADMIN_PAGES:
        response = await client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next="), path


async def test_login_form_is_labelled_and_sets_a_hardened_cookie(
    client: httpx.AsyncClient, seeded: None
) -> None:
    page = await client.get("/login")
    assert '<label for="f-email">Email</label>' in page.text
    assert '<label for="f-password">Password</label>' in page.text
    assert ">Log in</button>" in page.text
    response = await client.post(
        "/login",
        data={"email": USER[0], "password": USER[1], "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 303 and response.headers["location"] == "/chat"
    cookie = next(c for c in response.headers.get_list("set-cookie") if SESSION_COOKIE in c)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert (await client.get("/")).headers["location"] == "/chat"


async def test_the_cookie_is_secure_off_loopback(client: httpx.AsyncClient, seeded: None) -> None:
    page = await client.get("https://myia.example.org/login")
    response = await client.post(
        "https://myia.example.org/login",
        data={"email": USER[0], "password": USER[1], "csrf_token": csrf_of(page.text)},
    )
    cookie = next(c for c in response.headers.get_list("set-cookie") if SESSION_COOKIE in c)
    assert "Secure" in cookie


async def test_wrong_password_is_shown_next_to_the_field(
    client: httpx.AsyncClient, seeded: None
) -> None:
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={"email": USER[0], "password": "nope", "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 400
    assert 'id="f-password-error"' in response.text and "Wrong email or password" in response.text


async def test_a_post_without_csrf_token_is_refused(
    client: httpx.AsyncClient, seeded: None
) -> None:
    await client.get("/login")  # has the CSRF cookie, not the token
    response = await client.post("/login", data={"email": USER[0], "password": USER[1]})
    assert response.status_code == 403
    forged = await client.post(
        "/login", data={"email": USER[0], "password": USER[1], "csrf_token": "0" * 64}
    )
    assert forged.status_code == 403
    assert SESSION_COOKIE not in forged.headers.get("set-cookie", "")


@pytest.mark.parametrize("path", USER_PAGES)
async def test_user_pages_render_for_a_user(user_client: httpx.AsyncClient, path: str) -> None:
    response = await user_client.get(path)
    assert response.status_code == 200, response.text
    assert "/admin/" not in response.text  # never an admin link for a plain user


async def test_a_plain_user_is_refused_every_admin_page(user_client: httpx.AsyncClient) -> None:
    for path in [*ADMIN_PAGES, "/admin/jobs/whatever", "/admin/jobs/x/progress"]:
        response = await user_client.get(path)
        assert response.status_code == 403, path
    token = user_client.headers["x-test-csrf"]
    refused = await user_client.post("/admin/jobs", data={"csrf_token": token, "scope": "all"})
    assert refused.status_code == 403


@pytest.mark.parametrize("path", USER_PAGES + ADMIN_PAGES)
async def test_every_page_renders_for_an_admin(admin_client: httpx.AsyncClient, path: str) -> None:
    response = await admin_client.get(path)
    assert response.status_code == 200, response.text
    assert 'href="/admin/jobs"' in response.text
    # No inline script or style: a strict Content-Security-Policy keeps the pages working.
    assert "<script>" not in response.text and ' style="' not in response.text
    # Every form field has a label.
    import re

    for field_id in re.findall(r'<(?:input|select|textarea) id="([^"]+)"', response.text):
        assert f'for="{field_id}"' in response.text, (path, field_id)


async def test_a_job_with_an_unknown_model_shows_the_error_next_to_the_field(
    admin_client: httpx.AsyncClient,
) -> None:
    token = admin_client.headers["x-test-csrf"]
    response = await admin_client.post(
        "/admin/jobs", data={"csrf_token": token, "scope": "model", "models": "no-such-model"}
    )
    assert response.status_code == 422
    assert 'id="f-models-error"' in response.text and "no-such-model" in response.text


async def test_settings_save_the_theme(user_client: httpx.AsyncClient) -> None:
    token = user_client.headers["x-test-csrf"]
    response = await user_client.post(
        "/settings/preferences", data={"csrf_token": token, "theme": "dark", "default_region": ""}
    )
    assert response.status_code == 303
    assert 'data-theme="dark"' in (await user_client.get("/models")).text
    bad = await user_client.post(
        "/settings/preferences", data={"csrf_token": token, "theme": "pink", "default_region": ""}
    )
    assert bad.status_code == 422 and 'id="f-theme-error"' in bad.text


async def test_price_comparison_for_a_typed_token_mix(user_client: httpx.AsyncClient) -> None:
    page = await user_client.get("/models")
    import re

    model_id = re.search(r'<option value="([0-9a-f-]{36})">GPT-4 Turbo</option>', page.text)
    assert model_id
    response = await user_client.get(
        "/models",
        params={"model": model_id.group(1), "input_tokens": "2000000", "output_tokens": "0"},
    )
    # gpt-4-turbo's seeded price is $10 per million input tokens.
    assert "$20" in response.text
    bad = await user_client.get(
        "/models", params={"model": model_id.group(1), "input_tokens": "lots"}
    )
    assert 'id="f-input_tokens-error"' in bad.text


async def test_admin_logout_ends_the_session(admin_client: httpx.AsyncClient) -> None:
    token = admin_client.headers["x-test-csrf"]
    response = await admin_client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert (await admin_client.get("/admin/jobs")).status_code == 303


def test_admin_credentials_are_the_demo_ones() -> None:
    assert ADMIN == ("123@123.com", "123123")


async def test_chat_lists_chats_and_refuses_a_model_without_a_certified_route(
    user_client: httpx.AsyncClient,
) -> None:
    token = user_client.headers["x-test-csrf"]
    page = await user_client.get("/chat")
    assert "Planning a trip to Lisbon" in page.text  # the demo user's seeded chat
    created = await user_client.post("/chat", data={"csrf_token": token})
    assert created.status_code == 303
    chat_url = created.headers["location"]
    assert (await user_client.get(chat_url)).status_code == 200
    refused = await user_client.post(
        f"{chat_url}/messages",
        data={"csrf_token": token, "model": "gpt-4-turbo", "content": "hello"},
    )
    # Nothing is certified in this database: the error stands next to the model picker.
    assert refused.status_code == 422
    assert 'id="f-model-error" role="alert">' in refused.text
    streamed = await user_client.post(
        f"{chat_url}/messages",
        data={"csrf_token": token, "model": "gpt-4-turbo", "content": "hello"},
        headers={"accept": "text/event-stream"},
    )
    assert streamed.status_code == 422 and "model" in streamed.json()["errors"]


async def test_an_api_key_is_shown_once_then_only_its_prefix(
    user_client: httpx.AsyncClient,
) -> None:
    token = user_client.headers["x-test-csrf"]
    created = await user_client.post(
        "/settings/api-keys", data={"csrf_token": token, "key_name": "laptop"}
    )
    assert created.status_code == 200
    import re

    key = re.search(r'data-testid="new-api-key">([^<]+)<', created.text)
    assert key
    later = await user_client.get("/settings")
    assert key.group(1) not in later.text and "laptop" in later.text
    key_id = re.search(r'action="/settings/api-keys/([^/]+)/revoke"', later.text)
    assert key_id
    revoked = await user_client.post(
        f"/settings/api-keys/{key_id.group(1)}/revoke", data={"csrf_token": token}
    )
    assert revoked.status_code == 303
    assert "revoked" in (await user_client.get("/settings")).text
    empty = await user_client.post("/settings/api-keys", data={"csrf_token": token})
    assert empty.status_code == 422 and 'id="f-key_name-error"' in empty.text
