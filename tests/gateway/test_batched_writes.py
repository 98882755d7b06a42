"""`myia serve`'s HTTP protocol (myia.api.server.BatchedWritesProtocol): the writes of one
event-loop turn go out as one, and nothing else changes — the same bytes in the same order,
keep-alive, `Connection: close`, chunked streams whose frames come apart in time, a body
larger than the socket buffer, and the hang-up of a client mid-stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn

from myia.api.server import BatchedWritesProtocol, _BatchedTransport
from tests.sim_support import free_port

BIG = b"x" * 3_000_000
seen: dict[str, Any] = {}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/plain":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", b"11")]})  # fmt: skip
        await send({"type": "http.response.body", "body": b'{"ok":true}'})
    elif path == "/stream":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})  # fmt: skip
        for i in range(3):  # a burst: one loop turn
            await send({"type": "http.response.body", "body": b"data: %d\n\n" % i,
                        "more_body": True})  # fmt: skip
        await asyncio.sleep(0.05)  # then a frame on its own
        await send({"type": "http.response.body", "body": b"data: late\n\n", "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/big":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(BIG)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": BIG})
    elif path == "/endless":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})  # fmt: skip
        for _ in range(1000):
            await send({"type": "http.response.body", "body": b"data: x\n\n",
                        "more_body": True})  # fmt: skip
            try:
                message = await asyncio.wait_for(receive(), 0.01)
            except TimeoutError:
                continue
            if message["type"] == "http.disconnect":
                seen["disconnected"] = True
                return


@asynccontextmanager
async def server() -> AsyncIterator[str]:
    port = free_port()
    # log_config=None: uvicorn's default dictConfig would take over the process's loggers
    # (uvicorn.error to stderr, unredacted) for every later test in this worker.
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http=BatchedWritesProtocol,
                            log_config=None, log_level="warning", lifespan="off")  # fmt: skip
    instance = uvicorn.Server(config)
    task = asyncio.create_task(instance.serve())
    for _ in range(500):
        if instance.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        await task


async def test_answers_are_unchanged() -> None:
    async with server() as url, httpx.AsyncClient(base_url=url) as http:
        for _ in range(3):  # keep-alive: the same connection answers again
            plain = await http.get("/plain")
            assert plain.status_code == 200 and plain.json() == {"ok": True}
        async with http.stream("GET", "/stream") as response:
            lines = [line async for line in response.aiter_lines() if line]
        assert lines == ["data: 0", "data: 1", "data: 2", "data: late"]
        big = await http.get("/big")
        assert big.content == BIG
        closed = await http.get("/plain", headers={"Connection": "close"})
        assert closed.headers["connection"] == "close" and closed.json() == {"ok": True}


async def test_a_burst_is_one_write_and_a_late_frame_is_not_held() -> None:
    writes: list[bytes] = []

    class Recorder:
        def write(self, data: bytes) -> None:
            writes.append(data)

        def is_closing(self) -> bool:
            return False

        def close(self) -> None:
            writes.append(b"<closed>")

    loop = asyncio.get_running_loop()
    transport = _BatchedTransport(Recorder(), loop)  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(b"a")
    transport.write(b"")
    assert writes == []  # queued until the loop's next turn
    await asyncio.sleep(0)
    assert writes == [b"HTTP/1.1 200 OK\r\n\r\na"]
    transport.write(b"b")
    transport.close()  # what is queued goes out before the connection closes
    assert writes[1:] == [b"b", b"<closed>"]


async def test_client_hang_up_reaches_the_app() -> None:
    seen.clear()
    async with server() as url:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /endless HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        await reader.readuntil(b"data: x\n\n")
        writer.close()
        for _ in range(200):
            if seen.get("disconnected"):
                break
            await asyncio.sleep(0.01)
        assert seen.get("disconnected") is True
