"""Browser hardening of every answer (audit finding 8): CSP without inline script, no
framing, no sniffing, no referrer to other sites, no-store where secrets show.

The walk enumerates the web routers from `app.routes` — a page added later is walked too —
and opens every GET page as a visitor, a user and an admin, path parameters filled from
real rows. Each answer must carry the headers; each HTML page must hold no inline script,
no inline event handler, no `style` attribute and nothing htmx would `eval`, so the
Content-Security-Policy cannot break it (tests/e2e then proves it in Chromium).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.models import ModelDeployment
from myia.maintenance.seed import seed_database
from myia.web.routes import WEB_ROUTERS
from tests.factories import make_certification
from tests.web.conftest import ADMIN, USER, sign_in

# --- what every answer and every page must hold --------------------------------------------


def csp_directives(policy: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def assert_hardened(response: httpx.Response, *, no_store: bool = True) -> None:
    where = f"{response.request.method} {response.request.url.path} → {response.status_code}"
    headers = response.headers
    assert headers.get("x-frame-options") == "DENY", where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("referrer-policy") in ("no-referrer", "same-origin"), where
    assert len(headers.get_list("content-security-policy")) == 1, where
    csp = csp_directives(headers["content-security-policy"])
    assert csp.get("default-src") == ["'self'"], where
    assert csp.get("script-src") == ["'self'"], where  # no 'unsafe-inline', no 'unsafe-eval'
    assert csp.get("style-src") == ["'self'"], where
    assert csp.get("img-src") == ["'self'", "data:"], where
    assert csp.get("frame-ancestors") == ["'none'"], where
    assert csp.get("base-uri") == ["'self'"], where
    assert csp.get("form-action") == ["'self'"], where
    assert csp.get("object-src") == ["'none'"], where
    if no_store:
        assert headers.get("cache-control") == "no-store", where


_HANDLER = re.compile(r"^(on[a-z]+|hx-on.*)$")
_JS_URL = re.compile(r"^\s*javascript:", re.IGNORECASE)


class _InlineCode(HTMLParser):
    """Everything in a page that a `script-src 'self'; style-src 'self'` policy refuses, or
    that htmx would evaluate (allowEval is off, so it would fail instead)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("inline <style>")
        for name, value in attrs:
            text = value or ""
            if _HANDLER.match(name):
                self.found.append(f"<{tag} {name}=…> (inline handler)")
            elif name == "style":
                self.found.append(f"<{tag} style=…>")
            elif name in ("href", "src", "action", "formaction") and _JS_URL.match(text):
                self.found.append(f"<{tag} {name}=javascript:…>")
            elif name in ("hx-vals", "hx-vars", "hx-headers") and (
                "js:" in text or name == "hx-vars"
            ):
                self.found.append(f"<{tag} {name}=…> (evaluated by htmx)")
            elif name == "hx-trigger" and "[" in text:
                self.found.append(f"<{tag} hx-trigger={text!r}> (filter evaluated by htmx)")


def inline_code(html: str) -> list[str]:
    parser = _InlineCode()
    parser.feed(html)
    parser.close()
    return parser.found


def test_the_checker_sees_what_a_policy_refuses() -> None:
    bad = (
        '<script>alert(1)</script><button onclick="go()">x</button><p style="color:red">'
        '<a href="javascript:go()">y</a><div hx-on:click="go()"></div><style>p{}</style>'
        "<div hx-trigger=\"click[ctrlKey]\"></div><form hx-vals='js:{a: 1}'></form>"
    )
    assert len(inline_code(bad)) == 8
    assert inline_code('<script src="/static/app.js" defer></script><p class="x">ok</p>') == []


# --- three visitors on one app, and a row for every path parameter -------------------------


async def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@pytest.fixture
async def visitors(app: FastAPI, session: AsyncSession) -> AsyncIterator[dict[str, Any]]:
    await seed_database(session=session, demo=True)
    deployment = (await session.execute(select(ModelDeployment).limit(1))).scalar_one()
    await make_certification(session, deployment=deployment, region="us-east-1")
    clients = {role: await _client(app) for role in ("anonymous", "user", "admin")}
    try:
        tokens = {
            "user": await sign_in(clients["user"], *USER),
            "admin": await sign_in(clients["admin"], *ADMIN),
        }
        started = await clients["admin"].post(
            "/admin/jobs", data={"csrf_token": tokens["admin"], "scope": "all"}
        )
        assert started.status_code == 303, started.text
        job_id = started.headers["location"].rsplit("/", 1)[-1]
        chats: dict[str, str] = {}
        for role in ("user", "admin"):
            made = await clients[role].post(
                "/chat", data={"csrf_token": tokens[role], "title": f"{role}'s chat"}
            )
            assert made.status_code == 303, made.text
            chats[role] = made.headers["location"].rsplit("/", 1)[-1]
        yield {
            "clients": clients,
            "tokens": tokens,
            "params": {
                "deployment_row_id": deployment.id,
                "model_id": deployment.base_model_id,
                "provider_id": deployment.provider_id,
                "region": "us-east-1",
                "job_id": job_id,
            },
            "chats": chats,
        }
    finally:
        for client in clients.values():
            await client.aclose()


def web_get_routes() -> list[APIRoute]:
    """Every GET route of the web routers, as `mount_web` includes them in the app (this
    FastAPI nests included routers in `app.routes`, so they are read from the routers)."""
    return [
        route
        for router in WEB_ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and "GET" in (route.methods or ())
    ]


def fill(route: APIRoute, params: dict[str, str]) -> str:
    names = re.findall(r"{(\w+)(?::\w+)?}", route.path)
    missing = [n for n in names if n not in params]
    assert not missing, f"{route.path}: no test row for {missing}; add one to `visitors`"
    return route.path.format(**{n: params[n] for n in names})


async def test_every_page_is_hardened_for_every_visitor(
    app: FastAPI, visitors: dict[str, Any]
) -> None:
    routes = web_get_routes()
    assert len(routes) >= 15, [r.path for r in routes]  # the walk found the web routers
    rendered: set[str] = set()
    for role, client in visitors["clients"].items():
        params = {**visitors["params"], "chat_id": visitors["chats"].get(role, "none")}
        for route in routes:
            path = fill(route, params)
            for headers in ({}, {"HX-Request": "true"}):  # full page and htmx fragment
                response = await client.get(path, headers=headers)
                where = f"{role} GET {path} {headers}"
                assert response.status_code < 500, (where, response.text[:500])
                assert_hardened(response)
                if response.headers.get("content-type", "").startswith("text/html"):
                    assert inline_code(response.text) == [], (where, inline_code(response.text))
                    if response.status_code == 200:
                        rendered.add(route.path)
                elif response.status_code == 200 and "json" in response.headers["content-type"]:
                    rendered.add(route.path)  # what a page polls (/chat/progress): no HTML
    # Every page was really rendered for someone (not only redirects and refusals), so its
    # HTML was checked; `/` only ever redirects.
    assert rendered == {r.path for r in routes} - {"/"}, {r.path for r in routes} - rendered


async def test_error_and_refusal_pages_are_hardened(visitors: dict[str, Any]) -> None:
    user = visitors["clients"]["user"]
    anonymous = visitors["clients"]["anonymous"]
    for response in (
        await user.get("/admin/jobs"),  # 403 page
        await anonymous.get("/chat"),  # 303 to /login
        await anonymous.get("/no/such/page"),  # 404 JSON
        await user.post("/settings/preferences", data={"theme": "dark"}),  # CSRF refusal
    ):
        assert_hardened(response)
        if response.headers.get("content-type", "").startswith("text/html"):
            assert inline_code(response.text) == []


async def test_static_files_are_hardened_but_cacheable(client: httpx.AsyncClient) -> None:
    for name, kind in (("app.js", "javascript"), ("htmx.min.js", "javascript"), ("app.css", "css")):
        response = await client.get(f"/static/{name}")
        assert response.status_code == 200
        assert kind in response.headers["content-type"]
        assert_hardened(response, no_store=False)
        assert "no-store" not in response.headers.get("cache-control", "")


def test_htmx_runs_without_eval_or_inline_style() -> None:
    """htmx's own inline <style> and eval are turned off in the layout, and the indicator
    rules it would have inserted are in the stylesheet."""
    from myia.web.templating import TEMPLATES_DIR

    base = (TEMPLATES_DIR / "base.html").read_text()
    config = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", base)
    assert config is not None
    assert '"includeIndicatorStyles": false' in config.group(1)
    assert '"allowEval": false' in config.group(1)
    assert '"allowScriptTags": false' in config.group(1)
    from myia.web.app import STATIC_DIR

    assert ".htmx-indicator" in (STATIC_DIR / "app.css").read_text()


# --- no-store where a secret shows ---------------------------------------------------------


async def test_login_settings_and_a_new_api_key_page_are_never_stored(
    visitors: dict[str, Any],
) -> None:
    anonymous, user = visitors["clients"]["anonymous"], visitors["clients"]["user"]
    login = await anonymous.get("/login")
    assert login.status_code == 200
    assert_hardened(login)
    settings = await user.get("/settings")  # masked credentials, API key prefixes
    assert settings.status_code == 200
    assert_hardened(settings)
    token = visitors["tokens"]["user"]
    created = await user.post(
        "/settings/api-keys", data={"csrf_token": token, "key_name": "laptop"}
    )
    assert created.status_code == 200, created.text
    assert re.search(r"myia-[A-Za-z0-9_\-]{32,}", created.text), "the new key is on the page"
    assert_hardened(created)
    stored = await user.post(
        "/settings/credentials",
        data={"csrf_token": token, "provider": "openai", "api_key": "sk-test-" + "x" * 40},
    )
    assert stored.status_code in (200, 303, 422), stored.text
    assert_hardened(stored)
    assert_hardened(await user.get("/settings?saved=cred"))


async def test_api_key_and_credential_answers_of_the_api_are_never_stored(
    client: httpx.AsyncClient, visitors: dict[str, Any]
) -> None:
    login = await client.post("/api/auth/login", json={"email": USER[0], "password": USER[1]})
    assert login.status_code == 200
    assert_hardened(login)  # the bearer token itself
    jwt = {"Authorization": f"Bearer {login.json()['access_token']}"}
    created = await client.post("/api/v2/api-keys", json={"name": "ci"}, headers=jwt)
    assert created.status_code == 201 and created.json()["key"]
    assert_hardened(created)
    put = await client.put(
        "/api/credentials/openai", json={"api_key": "sk-test-" + "y" * 40}, headers=jwt
    )
    assert put.status_code in (200, 201), put.text
    assert_hardened(put)
    listed = await client.get("/api/credentials", headers=jwt)
    assert listed.status_code == 200
    assert_hardened(listed)
    assert_hardened(await client.get("/api/credentials"))  # the 401 too


async def test_answers_written_in_front_of_fastapi_carry_the_headers(
    client: httpx.AsyncClient, visitors: dict[str, Any]
) -> None:
    """The gateway's raw ASGI path and the cached catalog reads skip FastAPI's router."""
    login = await client.post("/api/auth/login", json={"email": USER[0], "password": USER[1]})
    jwt = {"Authorization": f"Bearer {login.json()['access_token']}"}
    key = (await client.post("/api/v2/api-keys", json={"name": "gw"}, headers=jwt)).json()["key"]
    models = await client.get("/v1/models", headers={"Authorization": f"Bearer {key}"})
    assert models.status_code == 200
    assert_hardened(models)
    assert_hardened(await client.get("/v1/models"))  # 401 from the fast path
    refused = await client.post("/v1/chat/completions", content=b"{}")
    assert refused.status_code in (400, 401, 422)
    assert_hardened(refused)
    for _ in range(2):  # a miss rendered by FastAPI, then the cached bytes
        read = await client.get("/api/v2/models", headers=jwt)
        assert read.status_code == 200
        assert_hardened(read)
    too_big = await client.post(
        "/api/auth/login", content=b"x" * 2_000_000, headers={"content-type": "a/b"}
    )
    assert too_big.status_code == 413
    assert_hardened(too_big)


# --- the pages the app serves but does not write --------------------------------------------


def _sha256(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


async def test_api_docs_keep_working_under_their_own_policy(client: httpx.AsyncClient) -> None:
    """FastAPI's Swagger UI has one inline bootstrap script: its hash, not 'unsafe-inline'."""
    for path in ("/docs", "/docs/oauth2-redirect"):
        response = await client.get(path)
        assert response.status_code == 200
        csp = csp_directives(response.headers["content-security-policy"])
        assert (
            "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
        )
        for script in re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL):
            assert _sha256(script) in csp["script-src"], path
        assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
        assert response.headers["x-frame-options"] == "DENY"
    from myia.web.security_headers import PAGE_CSP

    page = csp_directives(PAGE_CSP)
    assert "'unsafe-inline'" not in page["script-src"] + page["style-src"]


def test_saq_dashboard_shell_script_is_allowed_by_hash(app: FastAPI) -> None:
    from saq.web.common import render

    from myia.api.routes.admin_queues import MOUNT
    from myia.web.security_headers import third_party_csp, third_party_pages

    policy = csp_directives(third_party_csp(third_party_pages(app, MOUNT)))
    shell = render(root_path=MOUNT)
    (script,) = re.findall(r"<script>(.*?)</script>", shell, re.DOTALL)
    assert _sha256(script) in policy["script-src"]
    assert "'unsafe-inline'" not in policy["script-src"]
