"""A second OpenAI-compatible client: plain httpx speaking the wire protocol, SSE by hand.

What any non-Python or hand-written client does: POST JSON, read `data:` lines until
`data: [DONE]`, reassemble tool-call fragments by index.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from myia.sim import SimServer
from tests.gateway.conftest import MODEL, make_world
from tests.sim_support import AppServer

# A 1×1 red PNG.
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408"
        "d763f8cfc000000301010018dd8db00000000049454e44ae426082"
    )
).decode()


async def sse_events(response: httpx.Response) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    done = False
    async for line in response.aiter_lines():
        if not line.startswith("data: "):
            continue
        payload = line[len("data: ") :]
        if payload == "[DONE]":
            done = True
            break
        events.append(json.loads(payload))
    assert done, "the stream must end with data: [DONE]"
    return events


async def test_plain_http_client_chat_stream_tools_and_images(
    session: AsyncSession, db_url: str, fresh_sim: SimServer
) -> None:
    world = await make_world(session, fresh_sim)
    headers = {"Authorization": f"Bearer {world.key}"}
    with AppServer(db_url) as server:
        async with httpx.AsyncClient(base_url=f"{server.url}/v1", headers=headers) as http:
            plain = await http.post(
                "/chat/completions",
                json={"model": MODEL, "messages": [{"role": "user", "content": "What is 2 + 3?"}]},
            )
            assert plain.status_code == 200
            body = plain.json()
            assert body["object"] == "chat.completion" and "5" in body["choices"][0]["message"][
                "content"]  # fmt: skip
            assert body["usage"]["total_tokens"] == (
                body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
            )

            request = {
                "model": MODEL,
                "stream": True,
                "stream_options": {"include_usage": True},
                "messages": [{"role": "user", "content": "Reply with exactly: marmalade harbour"}],
            }
            async with http.stream("POST", "/chat/completions", json=request) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                assert response.headers["x-myia-certified"] == "true"
                events = await sse_events(response)
            assert all(e["object"] == "chat.completion.chunk" for e in events)
            text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events
                           if e["choices"])  # fmt: skip
            assert "marmalade harbour" in text.lower()
            assert events[-1]["choices"] == [] and events[-1]["usage"]["completion_tokens"] > 0

            tool_request = {
                "model": MODEL,
                "stream": True,
                "messages": [{"role": "user", "content": "Weather in Oslo?"}],
                "tools": [{"type": "function", "function": {"name": "weather", "parameters": {
                    "type": "object", "properties": {"city": {"type": "string"}},
                    "required": ["city"]}}}],
                "tool_choice": "required",
            }  # fmt: skip
            async with http.stream("POST", "/chat/completions", json=tool_request) as response:
                events = await sse_events(response)
            calls: dict[int, dict[str, str]] = {}
            for event in events:
                for choice in event["choices"]:
                    for fragment in choice["delta"].get("tool_calls") or []:
                        call = calls.setdefault(fragment["index"], {"name": "", "arguments": ""})
                        call["name"] += fragment["function"].get("name") or ""
                        call["arguments"] += fragment["function"].get("arguments") or ""
            assert [c["name"] for c in calls.values()] == ["weather"]
            assert isinstance(json.loads(calls[0]["arguments"]), dict)
            assert events[-1]["choices"][0]["finish_reason"] == "tool_calls"

            image = await http.post(
                "/chat/completions",
                json={"model": MODEL, "messages": [{"role": "user", "content": [
                    {"type": "text", "text": "What colour is this image?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                ]}]},
            )  # fmt: skip
            assert image.status_code == 200, image.text
            assert image.headers["x-myia-provider"] in {"notoolco", "cheapco", "midco", "dearco"}
            remote = await http.post(
                "/chat/completions",
                json={"model": MODEL, "messages": [{"role": "user", "content": [
                    {"type": "image_url", "image_url": {"url": "https://10.0.0.1/cat.png"}},
                ]}]},
            )  # fmt: skip
            # Fetched by the gateway, but never from a private address (test_image_urls.py).
            assert remote.status_code == 400
            assert remote.json()["error"]["code"] == "invalid_image_url"
            assert remote.json()["error"]["param"] == "messages[0].content[0].image_url.url"
