"""The gateway's upstream HTTP/1.1 client against a real loopback server written by hand.

The server is raw asyncio streams, so each test controls exactly the bytes and the moments
a connection opens or closes: keep-alive reuse, an idle connection the upstream dropped,
chunked bodies splitting a UTF-8 character, silence, refusal.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from myia.routing.http1 import Http1Client, UpstreamError, UpstreamTimeout

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]
HEADERS = b"Content-Type: application/json\r\n"


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return await reader.readexactly(length)


class Upstream:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.bodies: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer, self.connections)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1/chat/completions"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[Upstream]]]:
    started: list[Upstream] = []

    async def start(handler: Handler) -> Upstream:
        upstream = Upstream(handler)
        upstream.server = await asyncio.start_server(upstream._serve, "127.0.0.1", 0)
        started.append(upstream)
        return upstream

    yield start
    for upstream in started:
        assert upstream.server is not None
        upstream.server.close()


def _sized(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


async def test_keep_alive_reuses_one_connection(
    serve: Callable[[Handler], Awaitable[Upstream]],
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
        while True:
            upstream.bodies.append(await _read_request(reader))
            writer.write(_sized(b'{"ok": true}'))
            await writer.drain()

    upstream = await serve(handler)
    client = Http1Client(timeout_s=30)
    try:
        for i in range(3):
            response = await client.post(upstream.url, b'{"n": %d}' % i, HEADERS)
            assert response.status_code == 200
            assert await response.read() == b'{"ok": true}'
    finally:
        await client.aclose()
    assert upstream.bodies == [b'{"n": 0}', b'{"n": 1}', b'{"n": 2}']
    assert upstream.connections == 1


async def test_an_idle_connection_the_upstream_closed_is_replaced(
    serve: Callable[[Handler], Awaitable[Upstream]],
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
        await _read_request(reader)
        writer.write(_sized(b"{}"))  # keep-alive by default in HTTP/1.1 …
        await writer.drain()
        # … then closed by the handler's caller: the client's pooled connection is dead.

    upstream = await serve(handler)
    client = Http1Client(timeout_s=30)
    try:
        first = await client.post(upstream.url, b"{}", HEADERS)
        assert await first.read() == b"{}"
        for _ in range(2):
            again = await client.post(upstream.url, b"{}", HEADERS)
            assert again.status_code == 200
            assert await again.read() == b"{}"
    finally:
        await client.aclose()
    assert upstream.connections == 3


async def test_chunked_lines_keep_a_character_split_across_chunks(
    serve: Callable[[Handler], Awaitable[Upstream]],
) -> None:
    text = "data: olá €\n\ndata: [DONE]\n\n".encode()
    cut = text.index("€".encode()) + 1  # inside the 3-byte euro sign

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for part in (text[:cut], text[cut:]):
            writer.write(b"%x\r\n%s\r\n" % (len(part), part))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        await reader.read()  # until the client closes

    upstream = await serve(handler)
    client = Http1Client(timeout_s=30)
    try:
        response = await client.post(upstream.url, b"{}", HEADERS)
        lines = [line async for line in response.iter_lines()]
    finally:
        await client.aclose()
    assert lines == ["data: olá €", "", "data: [DONE]", ""]


async def test_an_error_answer_becomes_an_httpx_response(
    serve: Callable[[Handler], Awaitable[Upstream]],
) -> None:
    body = b'{"error": {"message": "slow down"}}'

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _n: int) -> None:
        await _read_request(reader)
        writer.write(
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Length: %d\r\n\r\n%s"
            % (len(body), body)
        )
        await writer.drain()
        await reader.read()

    upstream = await serve(handler)
    client = Http1Client(timeout_s=30)
    try:
        response = await client.post(upstream.url, b"{}", HEADERS)
        converted = await response.as_httpx()
    finally:
        await client.aclose()
    assert converted.status_code == 429
    assert converted.headers["retry-after"] == "3"
    assert converted.json() == {"error": {"message": "slow down"}}


async def test_silence_is_a_timeout_and_refusal_a_network_error(
    serve: Callable[[Handler], Awaitable[Upstream]],
) -> None:
    async def handler(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter, _n: int) -> None:
        await _read_request(reader)
        await reader.read()  # never answers

    upstream = await serve(handler)
    client = Http1Client(timeout_s=0.2)
    try:
        with pytest.raises(UpstreamTimeout):
            await client.post(upstream.url, b"{}", HEADERS)
    finally:
        await client.aclose()

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    refused = Http1Client(timeout_s=5)
    with pytest.raises(UpstreamError) as caught:
        await refused.post(f"http://127.0.0.1:{port}/v1/chat/completions", b"{}", HEADERS)
    assert not isinstance(caught.value, UpstreamTimeout)
