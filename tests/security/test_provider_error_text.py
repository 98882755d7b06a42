"""Security audit finding 7: a provider's raw error text never reaches a user.

Upstream error bodies can name accounts (ARNs), internal endpoints and quoted request parts.
Whatever a provider says, a gateway client (/v1, plain and streamed) and a chat user (API and
web page, streamed or not) get the category, our own sentence and the request id; the
provider's words go to the log, masked, under that request id.

Upstreams: a loopback OpenAI-compatible server that answers every failure with a body full of
markers (JSON or plain text), the simulator's Bedrock with its model-error text replaced by
the same markers (a 424 on Converse, an exception frame mid-ConverseStream), and a Bedrock
endpoint on a closed loopback port (botocore's "Could not connect to the endpoint URL: …").
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from myia.db.engine import Database
from myia.db.enums import AuthType
from myia.db.models import ApiCallLog, Message
from myia.sim import SimServer, bedrock_runtime, load_scenario, running_simulator
from myia.telemetry.calls import call_log
from tests.factories import (
    SIM_AWS_ENV,
    make_base_model,
    make_certification,
    make_deployment,
    make_provider,
    make_user,
    run_on,
)
from tests.sim_support import AppServer, StubProvider, free_port
from tests.web.conftest import csrf_of

DETAIL = "UPSTREAM-DETAIL-7F3A"  # no secret's shape: the log keeps it
ARN = "arn:aws:iam::123456789012:user/secret-admin"
INTERNAL_URL = "https://llm-internal.corp.example:8443/v1/engines/prod"
LEAKED_KEY = "sk-leakedkey0123456789abcdef"  # a key's shape: the log masks it
BODY = f"SECRETMARKER {DETAIL} denied for {ARN} at {INTERNAL_URL} (key {LEAKED_KEY})"
MARKERS = [
    "SECRETMARKER",
    DETAIL,
    ARN,
    "123456789012",
    "secret-admin",
    "llm-internal",
    LEAKED_KEY,
    "leakedkey",
    "endpoint URL",
]
BROKEN = "acme.broken-v1:0"
SCENARIO = f"""
name: leaky
seed: 7
defaults: {{latency: 0, time_to_first_token: 0, tokens_per_second: 0}}
regions:
  us-east-1: {{}}
models:
  - id: {BROKEN}
    name: Broken
    provider: Acme
    failure_rate: 1.0
    failure_kinds: [ModelErrorException]
"""
PASSED = [
    {"name": c, "capability": c, "status": "passed"}
    for c in ("streaming", "tool_calling", "vision", "json_output")
]


class LeakyProvider(StubProvider):
    """An OpenAI-compatible endpoint whose every failure quotes internals; `model` picks it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def _chat(self, request: Request) -> Response:
        self.calls += 1
        model = (await request.json()).get("model")
        error = {"message": BODY, "type": "server_error", "param": None, "code": None}
        if model == "text500":
            return PlainTextResponse(BODY, status_code=500)
        if model == "auth401":
            error.update(type="invalid_request_error", code="invalid_api_key")
            return JSONResponse({"error": error}, status_code=401)
        if model == "throttle429":
            error.update(type="requests", code="rate_limit_exceeded")
            return JSONResponse({"error": error}, status_code=429, headers={"retry-after": "2"})
        await asyncio.sleep(5)  # "slow": longer than the gateway's timeout
        return JSONResponse({"error": error}, status_code=503)

    def routes(self) -> list[Any]:
        return [Route("/v1/chat/completions", self._chat, methods=["POST"])]


@pytest.fixture(scope="module")
def leaky() -> Iterator[LeakyProvider]:
    with LeakyProvider() as provider:
        yield provider


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimServer]:
    path = tmp_path_factory.mktemp("leaky") / "leaky.yaml"
    path.write_text(SCENARIO)
    with running_simulator(load_scenario(path)) as server:
        yield server


@pytest.fixture
def world(
    monkeypatch: pytest.MonkeyPatch, db_url: str, leaky: LeakyProvider, sim: SimServer
) -> dict[str, Any]:
    """Every failing upstream in the catalog, certified; the simulator's model error quoting
    the markers; a gateway timeout shorter than the slow upstream."""
    for name, value in SIM_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GATEWAY_TIMEOUT_S", "1.5")
    monkeypatch.setitem(bedrock_runtime.FAILURES, "ModelErrorException", BODY)
    closed_port = free_port()  # bound once, then released: nothing listens there

    async def seed(session: AsyncSession) -> dict[str, Any]:
        leak = await make_provider(session, slug="leaky", base_url=leaky.base_url)
        bedrock = await make_provider(
            session, slug="bedrock", auth_type=AuthType.AWS_CREDENTIALS, base_url=sim.base_url
        )
        down = await make_provider(
            session,
            slug="bedrock-down",
            auth_type=AuthType.AWS_CREDENTIALS,
            base_url=f"http://127.0.0.1:{closed_port}",
        )
        routes = [
            ("Leak Text", leak, "text500", "global"),
            ("Leak Auth", leak, "auth401", "global"),
            ("Leak Throttle", leak, "throttle429", "global"),
            ("Leak Slow", leak, "slow", "global"),
            ("Broken Stream", bedrock, BROKEN, "us-east-1"),
            ("Unreachable", down, BROKEN, "us-east-1"),
        ]
        for name, provider, deployment_id, region in routes:
            base = await make_base_model(session, name=name)
            deployment = await make_deployment(
                session, base_model=base, provider=provider, deployment_id=deployment_id
            )
            await make_certification(
                session, deployment=deployment, region=region, test_results=PASSED
            )
        user = await make_user(session)
        from myia.apikeys.service import create_api_key

        _, key = await create_api_key(session=session, user_id=user.id, name="audit")
        return {"email": user.email, "key": key}

    seeded = run_on(db_url, seed)
    return {
        **seeded,
        "hosts": [f"127.0.0.1:{leaky.port}", f"127.0.0.1:{closed_port}", sim.base_url],
    }


def _leaks(text: str, hosts: list[str]) -> list[str]:
    return [m for m in [*MARKERS, *hosts] if m.lower() in text.lower()]


def _visible(response: httpx.Response) -> str:
    """Every byte a client receives: the status line's reason aside, headers and body."""
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return f"{headers}\n\n{response.text}"


def _logged(captured: str, request_id: str) -> list[dict[str, Any]]:
    """The JSON log lines of one request (stdout, where every event goes)."""
    lines = []
    for line in captured.splitlines():
        if request_id in line and line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
    return lines


def _assert_detail_logged(captured: str, request_id: str) -> None:
    """The provider's words are in the log under the request id, masked where secret."""
    events = _logged(captured, request_id)
    detailed = [e for e in events if DETAIL in json.dumps(e)]
    assert detailed, f"no log line of {request_id} carries the provider's detail: {events}"
    assert all(LEAKED_KEY not in json.dumps(e) for e in events)
    assert any(e.get("category") for e in detailed)


def _assert_detail_logged_loosely(captured: str, marker: str, request_id: str) -> None:
    """For a failure whose text is not the upstream's body (botocore's connection error, a
    timeout): that detail is logged under the request id."""
    events = _logged(captured, request_id)
    assert any(marker in json.dumps(e) for e in events), events


# (model on /v1, status, code, label) — the status codes the gateway always answered.
GATEWAY_CASES = [
    ("leak-text", 502, "upstream_error", "upstream_error"),
    ("leak-auth", 502, "upstream_error", "authentication with provider failed"),
    ("leak-throttle", 429, "rate_limit_exceeded", "provider throttled"),
    ("leak-slow", 504, "upstream_timeout", "timeout"),
    ("broken-stream", 502, "upstream_error", "upstream_error"),
    ("unreachable", 502, "upstream_error", "provider unreachable"),
]


async def test_gateway_errors_name_the_category_and_request_id_never_the_provider_text(
    world: dict[str, Any], db_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    hosts = world["hosts"]
    with AppServer(db_url) as server:
        async with httpx.AsyncClient(base_url=f"{server.url}/v1", timeout=60) as http:
            ids: list[tuple[str, str]] = []
            for model, status, code, label in GATEWAY_CASES:
                for stream in (False, True):
                    if model == "broken-stream" and stream:
                        continue  # breaks mid-stream: below
                    request_id = f"audit7-{model}-{int(stream)}"
                    response = await http.post(
                        "/chat/completions",
                        headers={
                            "Authorization": f"Bearer {world['key']}",
                            "X-Request-Id": request_id,
                        },
                        json={
                            "model": model,
                            "messages": [{"role": "user", "content": "hello"}],
                            "stream": stream,
                        },
                    )
                    where = (model, stream)
                    assert response.status_code == status, (where, response.text)
                    assert _leaks(_visible(response), hosts) == [], (where, response.text)
                    error = response.json()["error"]
                    assert set(error) == {"message", "type", "param", "code"}, where
                    assert error["code"] == code, (where, error)
                    assert error["message"].startswith(f"{label}: "), (where, error)
                    assert f"request id {request_id}" in error["message"], (where, error)
                    assert response.headers["x-request-id"] == request_id
                    if status == 429:
                        assert response.headers["retry-after"] == "2"
                    ids.append((model, request_id))

            # A stream that breaks after its first event: the error is a frame of the stream.
            broken_id = "audit7-broken-stream-mid"
            streamed = await http.post(
                "/chat/completions",
                headers={"Authorization": f"Bearer {world['key']}", "X-Request-Id": broken_id},
                json={
                    "model": "broken-stream",
                    "messages": [{"role": "user", "content": "tell me a long story"}],
                    "stream": True,
                },
            )
            assert streamed.status_code == 200
            assert _leaks(_visible(streamed), hosts) == [], streamed.text
            frames = [
                json.loads(line[len("data: ") :])
                for line in streamed.text.splitlines()
                if line.startswith("data: {")
            ]
            assert any(f.get("choices") for f in frames), "the stream broke before its first event"
            [error] = [f["error"] for f in frames if "error" in f]
            assert error["code"] == "upstream_error" and error["type"] == "api_error"
            assert error["message"].startswith("upstream_error: ")
            assert f"request id {broken_id}" in error["message"]
            ids.append(("broken-stream", broken_id))
    captured = capfd.readouterr().out
    for model, request_id in ids:
        if model == "unreachable":
            _assert_detail_logged_loosely(captured, hosts[1], request_id)
        elif model == "leak-slow":  # no answer, so no words of the provider's: the timeout's
            _assert_detail_logged_loosely(captured, "within 1.5 s", request_id)
        else:
            _assert_detail_logged(captured, request_id)


def _sse(body: str) -> list[tuple[str, dict[str, Any]]]:
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


# (chat model, label, what the category's word in the error is)
CHAT_CASES = [
    ("Leak Auth", "authentication with provider failed", "AUTH"),
    ("Leak Text", "upstream_error", None),
    ("Broken Stream", "upstream_error", "MODEL_ERROR"),  # breaks after its first delta
    ("Unreachable", "provider unreachable", "NETWORK"),
]


async def test_chat_api_errors_name_the_category_and_request_id_never_the_provider_text(
    world: dict[str, Any], db_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    hosts = world["hosts"]
    with AppServer(db_url) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            login = await http.post(
                "/api/auth/login", json={"email": world["email"], "password": "secret-pw"}
            )
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            chat = await http.post("/api/v2/chats", json={"title": "audit"}, headers=auth)
            url = f"/api/v2/chats/{chat.json()['id']}/messages"
            seen: list[tuple[str, str]] = []
            for model, label, word in CHAT_CASES:
                request_id = f"audit7-chat-{model.replace(' ', '-').lower()}"
                response = await http.post(
                    url,
                    json={"content": "tell me a long story", "model": model},
                    headers={**auth, "X-Request-Id": request_id},
                )
                assert response.status_code == 200, response.text
                assert _leaks(_visible(response), hosts) == [], (model, response.text)
                events = _sse(response.text)
                names = [name for name, _ in events]
                assert names[0] == "start" and names[-2:] == ["error", "done"], (model, names)
                if model == "Broken Stream":
                    assert "delta" in names, "the stream broke before its first event"
                message = events[-2][1]["error"]
                assert message.startswith(f"{label}: ") and f"request id {request_id}" in message
                assert word is None or word in message
                done = events[-1][1]
                assert done["status"] == "error" and done["error"] == message
                seen.append((model, request_id))

            # Waiting for the answer (?stream=false) and reading the chat back: the same words.
            request_id = "audit7-chat-wait"
            waited = await http.post(
                f"{url}?stream=false",
                json={"content": "hello", "model": "Leak Throttle"},
                headers={**auth, "X-Request-Id": request_id},
            )
            assert waited.status_code == 200, waited.text
            assert _leaks(_visible(waited), hosts) == [], waited.text
            assert waited.json()["error"].startswith("provider throttled: ")
            assert f"request id {request_id}" in waited.json()["error"]
            seen.append(("Leak Throttle", request_id))
            listed = await http.get(url, headers=auth)
            assert listed.status_code == 200
            assert _leaks(_visible(listed), hosts) == [], listed.text
            assert sum(1 for m in listed.json()["data"] if m["status"] == "error") == 5

    captured = capfd.readouterr().out
    for model, request_id in seen:
        if model == "Unreachable":
            _assert_detail_logged_loosely(captured, hosts[1], request_id)
        else:
            _assert_detail_logged(captured, request_id)
    # The call log, an operator's view, keeps the provider's words (masked) for each attempt.
    database = Database(db_url)
    try:
        await call_log().flush()
        async with database.read_session() as session:
            errors = [
                row.error or ""
                for row in (
                    await session.scalars(select(ApiCallLog).where(ApiCallLog.operation == "chat"))
                ).all()
            ]
            stored = [
                m.error or "" for m in (await session.scalars(select(Message))).all() if m.error
            ]
    finally:
        await database.dispose()
    assert stored and all(_leaks(text, hosts) == [] for text in stored), stored
    assert any(DETAIL in e for e in errors) and not any(LEAKED_KEY in e for e in errors), errors


async def test_the_web_chat_page_shows_the_category_and_request_id_never_the_provider_text(
    world: dict[str, Any], db_url: str
) -> None:
    hosts = world["hosts"]
    with AppServer(db_url) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as web:
            page = await web.get("/login")
            signed_in = await web.post(
                "/login",
                data={
                    "email": world["email"],
                    "password": "secret-pw",
                    "csrf_token": csrf_of(page.text),
                },
            )
            assert signed_in.status_code == 303, signed_in.text
            token = csrf_of((await web.get("/chat")).text)
            created = await web.post("/chat", data={"csrf_token": token})
            assert created.status_code == 303
            chat_url = created.headers["location"]

            # The page's script: the answer streams.
            streamed = await web.post(
                f"{chat_url}/messages",
                data={"csrf_token": token, "model": "Broken Stream", "content": "a long story"},
                headers={"accept": "text/event-stream", "X-Request-Id": "audit7-web-stream"},
            )
            assert streamed.status_code == 200, streamed.text
            assert _leaks(_visible(streamed), hosts) == [], streamed.text
            error = dict(_sse(streamed.text))["error"]["error"]
            assert error.startswith("upstream_error: ") and "audit7-web-stream" in error

            # No script: a plain form post, then the chat page with the failed answer.
            posted = await web.post(
                f"{chat_url}/messages",
                data={"csrf_token": token, "model": "Unreachable", "content": "hello"},
                headers={"X-Request-Id": "audit7-web-form"},
            )
            assert posted.status_code == 303, posted.text
            shown = await web.get(chat_url)
            assert shown.status_code == 200
            assert _leaks(_visible(shown), hosts) == [], re.findall(r"status-failed.*", shown.text)
            assert "provider unreachable: " in shown.text
            assert "request id audit7-web-form" in shown.text
            assert "request id audit7-web-stream" in shown.text


async def test_a_bedrock_connection_error_names_its_endpoint_only_internally(
    world: dict[str, Any], db_url: str
) -> None:
    """The premise of the cases above: botocore's message does carry the endpoint URL (kept
    for the call log and certification), and the user's answer does not."""
    from myia.providers.connection import ProviderConnection
    from myia.providers.errors import ProviderError
    from myia.providers.registry import get_adapter
    from myia.providers.types import ChatMessage, ChatRequest

    down = world["hosts"][1]
    connection = ProviderConnection(
        slug="bedrock-down",
        auth_type=AuthType.AWS_CREDENTIALS,
        base_url=f"http://{down}",
        region="us-east-1",
        timeout_s=5,
    )
    async with get_adapter(connection) as adapter:
        with pytest.raises(ProviderError) as raised:
            await adapter.chat(ChatRequest(model=BROKEN, messages=[ChatMessage.user("hi")]))
    assert down in raised.value.message  # internal: logs, call log, admin views
    with AppServer(db_url) as server:
        async with httpx.AsyncClient(timeout=60) as http:
            response = await http.post(
                f"{server.url}/v1/chat/completions",
                headers={"Authorization": f"Bearer {world['key']}"},
                json={"model": "unreachable", "messages": [{"role": "user", "content": "hi"}]},
            )
    assert response.status_code == 502
    assert down not in response.text and "http://" not in response.text
    assert response.json()["error"]["message"].startswith("provider unreachable: ")
    assert response.headers["x-request-id"] in response.json()["error"]["message"]


def test_markers_would_be_caught() -> None:
    """The leak check itself: it finds each marker, and the hosts, case-insensitively."""
    assert _leaks(BODY, []) != []
    assert _leaks("Could not connect to the endpoint URL: http://127.0.0.1:1/x", []) == [
        "endpoint URL"
    ]
    assert _leaks("see HTTP://127.0.0.1:9/", ["http://127.0.0.1:9"]) == ["http://127.0.0.1:9"]
    assert _leaks("provider throttled: retry; request id abc", ["127.0.0.1:9"]) == []
