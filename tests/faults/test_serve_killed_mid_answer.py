"""`myia serve` SIGKILLed while answers stream: a chat answer and gateway requests in flight.

- Chat: the answer being streamed is, after a restart, `interrupted` (never `complete` with
  half the text, never left `streaming`), and sending the message again gets a complete
  answer.
- Gateway: a few clients, plain and streamed, are cut by the kill. Every client gets an error
  or a complete answer (a stream that ends without `[DONE]` is an error, never a short
  success), and `api_call_logs` agrees with what they got: a `success` row only for a request
  whose client got the whole answer, at most one per request. What the kill can lose is
  documented in docs/metrics.md: rows still in the writer's memory (the last 0.5 s) and the
  attempts in flight.

The simulator streams slowly (`tokens_per_second`) so the kill lands mid-answer; the kill is
triggered by what the clients saw, never by a sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.apikeys.service import create_api_key
from myia.db.engine import Database
from myia.db.models import ApiCallLog, Message
from myia.sim import SimServer, load_scenario, running_simulator
from myia.sim.spec import Defaults
from tests.chat.conftest import SCENARIOS, certified_catalog, parse_sse
from tests.factories import bearer_headers, make_user
from tests.faults.support import env_for, poll, wait_health
from tests.queue.saq_support import Processes, processes
from tests.sim_support import free_port

pytestmark = [pytest.mark.usefixtures("sim_credentials"), pytest.mark.slow]
MODEL = "gpt-4o"  # certified with streaming by `certified_catalog`
MAX_TOKENS = 120  # at 20 tokens a second an answer streams for a few seconds


@pytest.fixture(scope="module")
def slow_sim() -> Iterator[SimServer]:
    scenario = load_scenario(SCENARIOS / "test-basic.yaml")
    scenario = scenario.model_copy(update={"defaults": Defaults(tokens_per_second=20)})
    with running_simulator(scenario) as server:
        yield server


async def _serve(children: Processes, name: str, db_url: str) -> str:
    port = free_port()
    env = env_for(DATABASE_URL=db_url, QUEUE_WORKERS_ENABLED="false")
    children.start(name, ["serve", "--port", str(port)], env)
    base = f"http://127.0.0.1:{port}"
    await wait_health(f"{base}/api/health", 200, timeout_s=120, what=f"{name} up")
    return base


def _kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


# --- chat ---------------------------------------------------------------------------------
async def test_a_chat_answer_cut_by_a_killed_server_is_interrupted_and_can_be_sent_again(
    db_url: str, database: Database, session: AsyncSession, slow_sim: SimServer, tmp_path: Path
) -> None:
    await certified_catalog(session, slow_sim)
    headers = await bearer_headers(session)
    body = {"content": "Tell me a long story about rivers.", "model": MODEL,
            "max_tokens": MAX_TOKENS}  # fmt: skip
    with processes(tmp_path) as children:
        first = await _serve(children, "serve1", db_url)
        async with httpx.AsyncClient(base_url=first, headers=headers, timeout=60) as client:
            chat_id = (await client.post("/api/v2/chats", json={})).json()["id"]
            url = f"/api/v2/chats/{chat_id}/messages"
            seen: list[str] = []
            cut: Exception | None = None
            try:
                async with client.stream("POST", url, json=body) as response:
                    assert response.status_code == 200
                    async for line in response.aiter_lines():
                        seen.append(line)
                        texts = sum(1 for s in seen if '"text"' in s)
                        if texts == 3 and children.started[0].poll() is None:
                            _kill(children.started[0])  # mid-answer: text arrived, more due
            except httpx.HTTPError as exc:
                cut = exc
        assert cut is not None, "the stream ended cleanly although the server was killed"
        assert not any(line.startswith("event: done") for line in seen), seen

        second = await _serve(children, "serve2", db_url)
        async with httpx.AsyncClient(base_url=second, headers=headers, timeout=120) as client:
            history = (await client.get(f"/api/v2/chats/{chat_id}/messages")).json()["data"]
            assert [(m["role"], m["status"]) for m in history] == [
                ("user", "complete"),
                ("assistant", "interrupted"),
            ], history

            # The user retries: the same message again gets a whole answer.
            response = await client.post(url, json=body)
            assert response.status_code == 200, response.text
            events = parse_sse(response.text)
            assert [name for name, _ in events][-1] == "done", events
            done = events[-1][1]
            assert done["status"] == "complete", done
            streamed = "".join(data["text"] for name, data in events if name == "delta")
            assert streamed and done["content"] == streamed
            history = (await client.get(f"/api/v2/chats/{chat_id}/messages")).json()["data"]
        assert [m["status"] for m in history] == [
            "complete",
            "interrupted",
            "complete",
            "complete",
        ], history
    async with database.session() as s:
        statuses = list((await s.scalars(select(Message.status))).all())
    assert "streaming" not in statuses


# --- gateway ------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What one client saw of one request: `complete`, or `error` with why."""

    stream: bool
    result: str = "pending"
    why: str = ""
    text: str = ""


@dataclass
class Clients:
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    killed: asyncio.Event = field(default_factory=asyncio.Event)
    mid_stream: set[str] = field(default_factory=set)


def _streamed_text(lines: list[str]) -> tuple[bool, str, str | None]:
    """(saw `[DONE]`, the text, the finish reason) of an OpenAI SSE stream."""
    done, text, finish = False, "", None
    for line in lines:
        if not line.startswith("data: "):
            continue
        data = line[len("data: ") :]
        if data == "[DONE]":
            done = True
            continue
        chunk = json.loads(data)
        if "error" in chunk:
            raise ValueError(f"error event: {chunk['error']}")
        for choice in chunk.get("choices", []):
            text += choice.get("delta", {}).get("content") or ""
            finish = choice.get("finish_reason") or finish
    return done, text, finish


async def _one_request(
    client: httpx.AsyncClient, clients: Clients, request_id: str, stream: bool
) -> None:
    outcome = clients.outcomes[request_id] = Outcome(stream=stream)
    question = {"role": "user", "content": "Tell me a long story about rivers."}
    body = {"model": MODEL, "max_tokens": MAX_TOKENS, "stream": stream, "messages": [question]}
    headers = {"X-Request-ID": request_id}
    try:
        if stream:
            lines: list[str] = []
            async with client.stream(
                "POST", "/v1/chat/completions", json=body, headers=headers
            ) as response:
                if response.status_code != 200:
                    await response.aread()
                    outcome.result, outcome.why = "error", f"HTTP {response.status_code}"
                    return
                async for line in response.aiter_lines():
                    lines.append(line)
                    if '"content"' in line:
                        clients.mid_stream.add(request_id)
            done, text, finish = _streamed_text(lines)
            # A stream that closes without [DONE] would be a silent truncation: say so.
            outcome.result = "complete" if done and finish else "truncated"
            outcome.text = text
        else:
            response = await client.post("/v1/chat/completions", json=body, headers=headers)
            if response.status_code != 200:
                outcome.result, outcome.why = "error", f"HTTP {response.status_code}"
                return
            choice = response.json()["choices"][0]
            outcome.text = choice["message"]["content"] or ""
            outcome.result = "complete" if choice["finish_reason"] and outcome.text else "truncated"
    except (httpx.HTTPError, ValueError) as exc:
        outcome.result, outcome.why = "error", type(exc).__name__
    finally:
        clients.mid_stream.discard(request_id)


async def _client(base: str, key: str, clients: Clients, n: int) -> None:
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120
    ) as client:
        i = 0
        while not clients.killed.is_set():
            await _one_request(client, clients, f"fault-{n}-{i}", stream=n % 2 == 0)
            i += 1


async def _gateway_rows(database: Database) -> list[ApiCallLog]:
    async with database.session() as s:
        return list(
            (await s.scalars(select(ApiCallLog).where(ApiCallLog.operation == "gateway"))).all()
        )


async def test_gateway_requests_in_flight_when_the_server_is_killed(
    db_url: str, database: Database, session: AsyncSession, slow_sim: SimServer, tmp_path: Path
) -> None:
    await certified_catalog(session, slow_sim)
    user = await make_user(session)
    _, key = await create_api_key(session=session, user_id=user.id, name="faults")
    clients = Clients()
    with processes(tmp_path) as children:
        base = await _serve(children, "serve1", db_url)
        running = [asyncio.create_task(_client(base, key, clients, n)) for n in range(6)]
        try:

            async def one_logged() -> bool:
                done = {r for r, o in clients.outcomes.items() if o.result == "complete"}
                rows = await _gateway_rows(database)
                return any(r.request_id in done and r.status == "success" for r in rows)

            # Answers complete and reach the log; then the kill, with streams mid-answer.
            await poll(one_logged, timeout_s=180, what="a complete answer in api_call_logs")

            async def streams_cut_short() -> bool:
                return len(clients.mid_stream) >= 2

            await poll(streams_cut_short, timeout_s=120, what="two streams mid-answer")
            clients.killed.set()
            _kill(children.started[0])
            async with asyncio.timeout(180):
                await asyncio.gather(*running)
        finally:
            for task in running:
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(*running, return_exceptions=True)

        outcomes = clients.outcomes
        assert not [r for r, o in outcomes.items() if o.result not in ("complete", "error")], {
            r: o for r, o in outcomes.items() if o.result not in ("complete", "error")
        }
        errors = {r for r, o in outcomes.items() if o.result == "error"}
        complete = {r for r, o in outcomes.items() if o.result == "complete"}
        assert any(outcomes[r].stream for r in errors), "no stream was cut by the kill"
        assert all(outcomes[r].text for r in complete)

        # What the log holds is true; what it lacks is at most the rows still in memory.
        rows = await _gateway_rows(database)
        success = [str(r.request_id) for r in rows if r.status == "success"]
        assert len(success) == len(set(success)), "two success rows for one request"
        assert set(success) <= complete, {r: outcomes[r] for r in set(success) - complete}
        assert {r.request_id for r in rows} <= set(outcomes)

        # After a restart the gateway answers again: a client that saw an error can retry.
        base = await _serve(children, "serve2", db_url)
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120
        ) as client:
            for stream in (False, True):
                retry = f"retry-{int(stream)}"
                await _one_request(client, clients, retry, stream=stream)
                assert outcomes[retry].result == "complete", outcomes[retry]

        async def retries_logged() -> bool:
            rows = await _gateway_rows(database)
            return {"retry-0", "retry-1"} <= {r.request_id for r in rows if r.status == "success"}

        await poll(retries_logged, timeout_s=60, what="the retries in api_call_logs")
