"""Chats over the API: CRUD, streaming answers with telemetry, history, isolation, BYOK."""

from __future__ import annotations

from typing import Any

import httpx
import openai
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.models import ApiCallLog, BaseModel, Message
from myia.sim import SimServer
from myia.telemetry.calls import call_log
from tests.chat.conftest import certified_catalog, parse_sse, send
from tests.factories import bearer_headers


async def _chat(client: httpx.AsyncClient, headers: dict[str, str], title: str = "t") -> str:
    response = await client.post("/api/v2/chats", json={"title": title}, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _logs(session: AsyncSession, **where: Any) -> list[ApiCallLog]:
    await call_log().flush()
    await session.commit()  # a fresh snapshot
    query = select(ApiCallLog).order_by(ApiCallLog.created_at)
    for name, value in where.items():
        query = query.where(getattr(ApiCallLog, name) == value)
    return list((await session.scalars(query)).all())


def _sim_usage(sim: SimServer, sent: dict[str, Any]) -> tuple[int, int]:
    """Ask the simulator directly, with the openai SDK, what the same input costs in tokens."""
    client = openai.OpenAI(base_url=f"{sim.base_url}/openai/v1", api_key="sk-sim-test-0000")
    messages: list[Any] = []
    if sent["system"]:
        messages.append({"role": "system", "content": sent["system"]})
    messages += [{"role": m["role"], "content": m["content"]} for m in sent["messages"]]
    stream = client.chat.completions.create(
        model="gpt-4o", messages=messages, stream=True, stream_options={"include_usage": True}
    )
    usage = None
    for chunk in stream:
        usage = chunk.usage or usage
    assert usage is not None
    return usage.prompt_tokens, usage.completion_tokens


async def test_chat_crud(client: httpx.AsyncClient, session: AsyncSession) -> None:
    headers = await bearer_headers(session)
    first = await _chat(client, headers, "first")
    second = await _chat(client, headers, "second")
    listed = (await client.get("/api/v2/chats", headers=headers)).json()
    assert listed["count"] == 2
    assert {c["id"] for c in listed["data"]} == {first, second}

    renamed = await client.patch(
        f"/api/v2/chats/{first}", json={"title": "renamed"}, headers=headers
    )
    assert renamed.status_code == 200 and renamed.json()["title"] == "renamed"
    assert (await client.get(f"/api/v2/chats/{first}", headers=headers)).json()["title"] == (
        "renamed"
    )
    assert (await client.delete(f"/api/v2/chats/{first}", headers=headers)).status_code == 204
    assert (await client.get(f"/api/v2/chats/{first}", headers=headers)).status_code == 404
    page = (await client.get("/api/v2/chats?page=1&page_size=1", headers=headers)).json()
    assert page["count"] == 1 and [c["id"] for c in page["data"]] == [second]
    bad = await client.post("/api/v2/chats", json={"title": "a\u0000b"}, headers=headers)
    assert bad.status_code == 422


async def test_send_streams_and_stores_telemetry(
    client: httpx.AsyncClient, session: AsyncSession, sim: SimServer, sim_credentials: None
) -> None:
    catalog = await certified_catalog(session, sim)
    headers = await bearer_headers(session)
    chat_id = await _chat(client, headers)

    events = await send(client, headers, chat_id, "Say hello in one short sentence.",
                        system="Be brief.")  # fmt: skip
    names = [name for name, _ in events]
    assert names[0] == "start" and names[-1] == "done" and "delta" in names
    assert "error" not in names
    done = events[-1][1]
    text = "".join(data["text"] for name, data in events if name == "delta")
    assert done["content"] == text and text
    assert done["status"] == "complete"
    assert done["deployment_id"] == catalog["gpt"].id
    assert done["region"] == "global"
    assert done["latency_ms"] is not None and done["time_to_first_token_ms"] is not None
    sent = done["sent_context"]
    assert sent["system"] == "Be brief."
    assert sent["messages"] == [{"role": "user", "content": "Say hello in one short sentence."}]
    assert sent["deployment"] == "gpt-4o" and sent["provider"] == "openai"
    assert sent["truncation"]["dropped_messages"] == 0

    # Tokens as the provider reported them; cost from the deployment's prices per 1M.
    tokens_in, tokens_out = _sim_usage(sim, sent)
    assert (done["tokens_in"], done["tokens_out"]) == (tokens_in, tokens_out)
    price_in, price_out = catalog["gpt"].cost_per_1m_input, catalog["gpt"].cost_per_1m_output
    assert done["cost"] == (tokens_in * price_in + tokens_out * price_out) / 1_000_000

    history = (await client.get(f"/api/v2/chats/{chat_id}/messages", headers=headers)).json()
    assert [(m["role"], m["status"]) for m in history["data"]] == [
        ("user", "complete"),
        ("assistant", "complete"),
    ]
    assert history["data"][1] == done

    logs = await _logs(session, operation="chat")
    assert len(logs) == 1
    row = logs[0]
    assert (row.status, row.provider, row.model, row.region) == (
        "success", "openai", "gpt-4o", "global"
    )  # fmt: skip
    assert (row.message_id, row.deployment_id) == (done["id"], catalog["gpt"].id)
    assert (row.tokens_in, row.tokens_out, row.cost) == (tokens_in, tokens_out, done["cost"])
    assert row.time_to_first_token_ms is not None and row.latency_ms is not None


async def test_second_message_carries_history_and_json_answer(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sim: SimServer,
    sim_credentials: None,
) -> None:
    await certified_catalog(session, sim)
    headers = await bearer_headers(session)
    chat_id = await _chat(client, headers)
    await send(client, headers, chat_id, "First question?")
    response = await client.post(
        f"/api/v2/chats/{chat_id}/messages?stream=false",
        json={"content": "Second question?", "model": "gpt-4o"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    roles = [m["role"] for m in answer["sent_context"]["messages"]]
    assert roles == ["user", "assistant", "user"]
    assert answer["sent_context"]["messages"][0]["content"] == "First question?"
    assert answer["status"] == "complete"
    # Both answers came through one platform adapter, kept by the app across messages.
    assert len(app.state.chat_pool) == 1


async def test_history_is_paged(
    client: httpx.AsyncClient, session: AsyncSession, sim: SimServer, sim_credentials: None
) -> None:
    await certified_catalog(session, sim)
    headers = await bearer_headers(session)
    chat_id = await _chat(client, headers)
    for n in range(3):
        await send(client, headers, chat_id, f"question {n}")
    url = f"/api/v2/chats/{chat_id}/messages"
    pages = [
        (await client.get(f"{url}?page={p}&page_size=4", headers=headers)).json() for p in (1, 2)
    ]
    assert pages[0]["count"] == 6
    contents = [m["content"] for m in pages[0]["data"] + pages[1]["data"]]
    assert len(contents) == 6
    assert contents[0::2] == ["question 0", "question 1", "question 2"]
    assert [m["role"] for m in pages[1]["data"]] == ["user", "assistant"]


async def test_context_is_truncated_to_the_window(
    client: httpx.AsyncClient, session: AsyncSession, sim: SimServer, sim_credentials: None
) -> None:
    catalog = await certified_catalog(session, sim)
    base = await session.get(BaseModel, catalog["gpt"].base_model_id)
    assert base is not None
    base.capabilities = {**(base.capabilities or {}), "max_context_window": 200}
    await session.commit()
    headers = await bearer_headers(session)
    chat_id = await _chat(client, headers)
    for n in range(3):
        await send(client, headers, chat_id, f"{n} " + "x" * 150, max_tokens=50)
    done = (await send(client, headers, chat_id, "last", max_tokens=50))[-1][1]
    truncation = done["sent_context"]["truncation"]
    assert truncation["context_window"] == 200 and truncation["output_reserve"] == 50
    assert truncation["dropped_messages"] > 0
    assert truncation["estimated_input_tokens"] <= 150
    sent = done["sent_context"]["messages"]
    assert sent[0]["role"] == "user" and sent[-1] == {"role": "user", "content": "last"}
    assert not any(m["content"].startswith("0 ") for m in sent)  # the oldest went first

    too_long = await client.post(
        f"/api/v2/chats/{chat_id}/messages",
        json={"content": "y" * 2000, "model": "gpt-4o", "max_tokens": 50},
        headers=headers,
    )
    assert too_long.status_code == 422 and "context window" in too_long.text


async def test_a_user_cannot_touch_another_users_chat(
    client: httpx.AsyncClient, session: AsyncSession, sim: SimServer, sim_credentials: None
) -> None:
    await certified_catalog(session, sim)
    owner = await bearer_headers(session)
    other = await bearer_headers(session)
    chat_id = await _chat(client, owner, "mine")
    await send(client, owner, chat_id, "private question")
    url = f"/api/v2/chats/{chat_id}"
    body = {"content": "let me in", "model": "gpt-4o"}
    assert (await client.get(url, headers=other)).status_code == 404
    assert (await client.get(f"{url}/messages", headers=other)).status_code == 404
    assert (await client.post(f"{url}/messages", json=body, headers=other)).status_code == 404
    assert (await client.patch(url, json={"title": "x"}, headers=other)).status_code == 404
    assert (await client.delete(url, headers=other)).status_code == 404
    assert (await client.get("/api/v2/chats", headers=other)).json()["count"] == 0
    mine = (await client.get(f"{url}/messages", headers=owner)).json()
    assert mine["count"] == 2 and mine["data"][0]["content"] == "private question"
    assert (await client.get(url, headers=owner)).json()["title"] == "mine"
    await session.commit()
    assert len((await session.scalars(select(Message))).all()) == 2


async def test_byok_uses_the_users_credential(
    client: httpx.AsyncClient, session: AsyncSession, sim: SimServer, sim_credentials: None
) -> None:
    """A user whose stored key the provider refuses gets the refusal; the platform's key
    (valid) keeps working for a user without one."""
    await certified_catalog(session, sim)
    byok = await bearer_headers(session)
    plain = await bearer_headers(session)
    stored = await client.put(
        "/api/credentials/openai", json={"api_key": "sk-invalid"}, headers=byok
    )
    assert stored.status_code in (200, 201), stored.text

    failed = await send(client, byok, await _chat(client, byok), "hello?")
    assert [name for name, _ in failed] == ["start", "error", "done"]
    assert "AUTH" in failed[1][1]["error"]
    assert failed[-1][1]["status"] == "error"
    assert failed[-1][1]["cost"] is None

    ok = await send(client, plain, await _chat(client, plain), "hello?")
    assert ok[-1][1]["status"] == "complete"

    errors = await _logs(session, operation="chat", status="error")
    assert len(errors) == 1 and errors[0].error_category == "AUTH"
    assert errors[0].message_id == failed[-1][1]["id"]


async def test_an_unknown_or_uncertified_model_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, sim: SimServer, sim_credentials: None
) -> None:
    catalog = await certified_catalog(session, sim)
    headers = await bearer_headers(session)
    chat_id = await _chat(client, headers)
    unknown = await client.post(
        f"/api/v2/chats/{chat_id}/messages",
        json={"content": "hi", "model": "no-such-model"},
        headers=headers,
    )
    assert unknown.status_code == 422 and "does not exist" in unknown.text
    uncertified = catalog["all"]["gpt-3.5-turbo"].deployment_id
    refused = await client.post(
        f"/api/v2/chats/{chat_id}/messages",
        json={"content": "hi", "model": uncertified},
        headers=headers,
    )
    assert refused.status_code == 422 and "certification" in refused.text
    listed = (await client.get(f"/api/v2/chats/{chat_id}/messages", headers=headers)).json()
    assert listed["count"] == 0  # nothing is stored for a refused message


def test_parse_sse_reads_named_events() -> None:
    assert parse_sse('event: delta\ndata: {"text": "a"}\n\nevent: done\ndata: {}\n\n') == [
        ("delta", {"text": "a"}),
        ("done", {}),
    ]
