"""The unmodified openai SDK, sync and async, uses MyIA as its OpenAI endpoint."""

from __future__ import annotations

import json
from typing import Any

import openai
from sqlalchemy.ext.asyncio import AsyncSession

from myia.sim import SimServer
from tests.gateway.conftest import MODEL, make_world
from tests.sim_support import AppServer

WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


async def test_sync_sdk_chat_stream_and_tool_call(
    session: AsyncSession, db_url: str, fresh_sim: SimServer
) -> None:
    world = await make_world(session, fresh_sim)
    with AppServer(db_url) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=world.key, max_retries=0)

        models = [m.id for m in client.models.list().data]
        assert MODEL in models and "claude-sim" in models

        raw = client.chat.completions.with_raw_response.create(
            model=MODEL, messages=[{"role": "user", "content": "What is 12 + 30?"}]
        )
        completion = raw.parse()
        assert "42" in (completion.choices[0].message.content or "")
        assert completion.usage is not None and completion.usage.total_tokens > 0
        # The cheapest certified deployment answered, and the headers say so (notoolco failed
        # tool calling, which a plain chat does not need).
        assert raw.headers["x-myia-provider"] == "notoolco"
        assert raw.headers["x-myia-deployment"] == "chat-model"
        assert raw.headers["x-myia-certified"] == "true"

        stream = client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "Reply with exactly: harbour juniper"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert "harbour juniper" in text.lower()
        assert chunks[-1].choices == [] and chunks[-1].usage is not None
        assert chunks[-1].usage.completion_tokens > 0

        raw_tool = client.chat.completions.with_raw_response.create(
            model=MODEL,
            messages=[{"role": "user", "content": "What is the weather in Lisbon?"}],
            tools=[WEATHER_TOOL],
            tool_choice="required",
        )
        assert raw_tool.headers["x-myia-provider"] == "cheapco"  # passed tool calling
        tool = raw_tool.parse()
        call = tool.choices[0].message.tool_calls[0]
        assert tool.choices[0].finish_reason == "tool_calls"
        assert call.function.name == "get_weather"
        assert isinstance(json.loads(call.function.arguments), dict)

        # The tool result goes back in the next turn, as OpenAI's protocol has it.
        follow = client.chat.completions.create(
            model=MODEL,
            messages=[
                {"role": "user", "content": "What is the weather in Lisbon?"},
                tool.choices[0].message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 21}'},
            ],
            tools=[WEATHER_TOOL],
        )
        assert follow.choices[0].message.content


async def test_async_sdk_chat_stream_and_tool_call(
    session: AsyncSession, db_url: str, fresh_sim: SimServer
) -> None:
    world = await make_world(session, fresh_sim)
    with AppServer(db_url) as server:
        client = openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key=world.key, max_retries=0)
        completion = await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "What is 20 + 22?"}]
        )
        assert "42" in (completion.choices[0].message.content or "")

        stream = await client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "Reply with exactly: quasar tangerine"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [c async for c in stream]
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert "quasar tangerine" in text.lower()
        assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens > 0

        streamed_tool = await client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "What is the weather in Porto?"}],
            tools=[WEATHER_TOOL],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
            stream=True,
        )
        names, finish = [], None
        async for chunk in streamed_tool:
            for choice in chunk.choices:
                for delta in choice.delta.tool_calls or []:
                    if delta.function and delta.function.name:
                        names.append(delta.function.name)
                finish = choice.finish_reason or finish
        assert names == ["get_weather"] and finish == "tool_calls"
        await client.close()
