"""An answer cut off mid-stream is kept and marked `interrupted`, never lost or left open."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.chat.service import PROCESS_STARTED
from myia.db.engine import Database
from myia.db.models import ApiCallLog, Message
from myia.sim import SimServer, load_scenario, running_simulator
from myia.sim.spec import Defaults
from tests.chat.conftest import certified_catalog
from tests.factories import bearer_headers
from tests.sim_support import AppServer

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "test-basic.yaml"


@pytest.fixture(scope="module")
def slow_sim() -> Iterator[SimServer]:
    """Streams about five tokens a second: an answer takes seconds, not microseconds."""
    scenario = load_scenario(SCENARIO)
    scenario = scenario.model_copy(update={"defaults": Defaults(tokens_per_second=5)})
    with running_simulator(scenario) as server:
        yield server


async def test_a_client_that_goes_away_leaves_the_answer_interrupted(
    db_url: str,
    database: Database,
    session: AsyncSession,
    slow_sim: SimServer,
    sim_credentials: None,
) -> None:
    await certified_catalog(session, slow_sim)
    headers = await bearer_headers(session)
    with AppServer(db_url) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            chat = (await client.post("/api/v2/chats", json={}, headers=headers)).json()
            body = {"content": "Tell me a long story about rivers.", "model": "gpt-4o"}
            url = f"/api/v2/chats/{chat['id']}/messages"
            seen = ""
            async with client.stream("POST", url, json=body, headers=headers) as response:
                assert response.status_code == 200
                async for line in response.aiter_lines():
                    if line.startswith("data: ") and '"text"' in line:
                        seen = line
                        break  # leave after the first piece of text
        assert seen
        deadline = asyncio.get_running_loop().time() + 60
        while True:
            async with database.session() as s:
                answer = await s.scalar(
                    select(Message).where(
                        Message.chat_id == chat["id"], Message.role == "assistant"
                    )
                )
            assert answer is not None
            if answer.status != "streaming":
                break
            assert asyncio.get_running_loop().time() < deadline, "still streaming"
            await asyncio.sleep(0.1)
    assert answer.status == "interrupted"
    assert answer.content  # what arrived before the client left is kept
    assert answer.sent_context is not None and answer.sent_context["deployment"] == "gpt-4o"
    async with database.session() as s:
        logged = await s.scalar(select(ApiCallLog).where(ApiCallLog.message_id == answer.id))
    assert logged is not None and logged.status == "error"


async def test_a_stream_left_open_by_a_dead_process_reads_as_interrupted(
    client: httpx.AsyncClient, session: AsyncSession, database: Database
) -> None:
    headers = await bearer_headers(session)
    chat = (await client.post("/api/v2/chats", json={}, headers=headers)).json()
    async with database.session() as s:
        before_this_process = PROCESS_STARTED - timedelta(seconds=5)
        s.add(
            Message(
                chat_id=chat["id"],
                role="assistant",
                content="half an ans",
                status="streaming",
                created_at=before_this_process,
            )
        )
        await s.commit()
    listed = (await client.get(f"/api/v2/chats/{chat['id']}/messages", headers=headers)).json()
    assert [(m["status"], m["content"]) for m in listed["data"]] == [("interrupted", "half an ans")]
