"""A closed-loop HTTP/1.1 load generator lean enough not to be what a bench measures.

Each client owns one keep-alive connection and sends its next request as soon as the last
answer is complete, for a bounded time. httpx costs about a millisecond of CPU per request
and more to read a 50 KB body: with 64 clients on a 2-core machine it saturated its own
core first, and its queueing showed up as the server's latency (bench/load.py measured
p50 214 ms while the server sat idle a third of the time). Here one `asyncio.Protocol` per
connection and the `httptools` parser (uvicorn's) keep a request to tens of microseconds.

Plain HTTP only, answers sized or chunked; a broken connection is counted as an error and
replaced by a new one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httptools

# (method, path, headers, body): what client `n` sends for its `i`-th request.
Request = tuple[str, str, dict[str, str], bytes]
MakeRequest = Callable[[int, int], Request]


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    body_bytes: int = 0  # of the 200 answers: an empty or truncated body would show here

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.done: asyncio.Future[int] | None = None
        self.lost = False
        self.body_bytes = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._fail(exc or ConnectionResetError("connection closed"))

    def on_body(self, body: bytes) -> None:
        self.body_bytes += len(body)

    def on_message_complete(self) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(self.parser.get_status_code())

    def _fail(self, exc: BaseException) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(exc)

    async def exchange(self, request: bytes, timeout_s: float) -> int:
        assert self.transport is not None
        self.done = asyncio.get_running_loop().create_future()
        self.body_bytes = 0
        self.transport.write(request)
        return await asyncio.wait_for(self.done, timeout_s)


def _encode(host: str, request: Request) -> bytes:
    method, path, headers, body = request
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def run_closed_loop(
    host: str, port: int, clients: int, seconds: float, make: MakeRequest, timeout_s: float = 60
) -> Tally:
    """`clients` connections, each sending back to back for `seconds`; latencies of the 200s."""
    loop = asyncio.get_running_loop()
    tally = Tally()
    end = time.monotonic() + seconds
    authority = f"{host}:{port}"

    async def connect() -> _Connection:
        _, conn = await loop.create_connection(_Connection, host, port)
        return conn

    async def client(n: int) -> None:
        conn = await connect()
        i = 0
        try:
            while time.monotonic() < end:
                request = _encode(authority, make(n, i))
                i += 1
                started = time.perf_counter()
                try:
                    status = await conn.exchange(request, timeout_s)
                except (OSError, TimeoutError, httptools.HttpParserError) as exc:
                    tally.error(type(exc).__name__)
                    if conn.transport is not None:
                        conn.transport.close()
                    conn = await connect()
                    continue
                elapsed_ms = (time.perf_counter() - started) * 1000
                if status != 200:
                    tally.error(f"HTTP {status}")
                else:
                    tally.latencies_ms.append(elapsed_ms)
                    tally.body_bytes += conn.body_bytes
                if conn.lost:  # the server closed after answering (Connection: close)
                    conn = await connect()
        finally:
            if conn.transport is not None:
                conn.transport.close()

    await asyncio.gather(*(client(n) for n in range(clients)))
    return tally
