"""A lean HTTP/1.1 client for the gateway's upstream calls: keep-alive pool, no framework.

httpx spends about a millisecond of CPU per request in its layers (httpcore's pool, anyio
streams, h11, per-request objects): measured with py-spy, more than a third of the gateway's
CPU. Here one `asyncio.Protocol` per connection parses the answer with `httptools` (the C
parser uvicorn uses) and hands body chunks over as they arrive, so a stream is forwarded
without buffering. Only what the gateway needs: POST with a JSON body, HTTP/1.1, keep-alive,
TLS through the loop, chunked or sized answers. An error answer is rebuilt as an
`httpx.Response` (only then), so the SDK's error mapping reads it as it always did.
"""

from __future__ import annotations

import asyncio
import codecs
import ssl
from collections import deque
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

import httptools
import httpx

_DEFAULT_PORTS = {"http": 80, "https": 443}


class UpstreamError(Exception):
    """The connection failed or broke (a network error for the caller)."""


class UpstreamTimeout(UpstreamError):
    """No connection, or no bytes, within the timeout."""


@dataclass(slots=True)
class _Answer:
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    chunks: deque[bytes] = field(default_factory=deque)
    complete: bool = False
    keep_alive: bool = False
    received: bool = False  # any byte of the answer arrived


class _Expired(Exception):
    """Set on a wait's future when its timer fires."""


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(_Expired())


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.error: Exception | None = None
        self.answer = _Answer()
        self.parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[None] | None = None
        self._headers_done = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing asyncio's.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.answer.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.error = UpstreamError(f"malformed HTTP answer: {exc}")
            self._close()
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.answer.complete and self.error is None:
            self.error = UpstreamError(f"connection closed by the upstream: {exc or 'EOF'}")
        self._wake()

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.answer.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.answer.status = self.parser.get_status_code()
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self.answer.chunks.append(body)

    def on_message_complete(self) -> None:
        self.answer.complete = True
        self.answer.keep_alive = self.parser.should_keep_alive()

    # helpers
    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def start(self, request: bytes) -> None:
        self.answer = _Answer()
        self._headers_done = False
        self.parser = httptools.HttpResponseParser(self)
        assert self.transport is not None
        self.transport.write(request)

    async def wait(self, timeout_s: float) -> None:
        """Until something new arrived (bytes, the end, or a failure)."""
        if self.error is not None:
            raise self.error
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        # A timer handle rather than `asyncio.timeout` (a context manager, a reschedule and a
        # cancellation bookkeeping per wait: ~2 % of the gateway's CPU per request).
        timer = loop.call_later(timeout_s, _expire, waiter)
        try:
            await waiter
        except _Expired:
            self._close()
            raise UpstreamTimeout(f"no answer from the upstream within {timeout_s:g} s") from None
        finally:
            timer.cancel()
            self._waiter = None
        if self.error is not None and not self.answer.chunks and not self.answer.complete:
            raise self.error

    async def headers(self, timeout_s: float) -> None:
        while not self._headers_done:
            await self.wait(timeout_s)


class Response:
    """An answer whose status and headers arrived; the body is read or iterated once."""

    def __init__(self, client: Http1Client, key: _Key, conn: _Connection, url: str) -> None:
        self._client = client
        self._key = key
        self._conn = conn
        self.url = url
        self.status_code = conn.answer.status
        self.headers = conn.answer.headers
        self._released = False

    async def iter_bytes(self) -> AsyncGenerator[bytes, None]:
        conn, answer = self._conn, self._conn.answer
        try:
            while True:
                while answer.chunks:
                    yield answer.chunks.popleft()
                if answer.complete:
                    break
                await conn.wait(self._client.timeout_s)
        finally:
            self.release()

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.iter_bytes()])

    async def iter_lines(self) -> AsyncGenerator[str, None]:
        """Decoded lines (SSE framing: `\\n`, `\\r\\n` or `\\r` end a line)."""
        decoder = codecs.getincrementaldecoder("utf-8")()  # a character may span two chunks
        pending = ""
        async for chunk in self.iter_bytes():
            pending += decoder.decode(chunk)
            lines = pending.splitlines(keepends=True)
            pending = lines.pop() if lines and not lines[-1].endswith(("\n", "\r")) else ""
            for line in lines:
                yield line.rstrip("\r\n")
        if pending:
            yield pending

    async def as_httpx(self) -> httpx.Response:
        """The whole answer as an `httpx.Response` (error paths only)."""
        body = await self.read()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.headers]
        return httpx.Response(
            self.status_code,
            headers=headers,
            content=body,
            request=httpx.Request("POST", self.url),
        )

    def release(self) -> None:
        """Back to the pool when the answer was read to its end, else closed."""
        if self._released:
            return
        self._released = True
        self._client.put_back(self._key, self._conn)


_Key = tuple[str, str, int]


class Http1Client:
    """Keep-alive connections per (scheme, host, port), as many as there are requests in
    flight; idle ones are reused most-recent first."""

    def __init__(
        self, *, timeout_s: float, connect_timeout_s: float = 10.0, max_idle: int = 256
    ) -> None:
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.max_idle = max_idle
        self._idle: dict[_Key, list[_Connection]] = {}
        self._ssl: ssl.SSLContext | None = None
        self._targets: dict[str, tuple[_Key, bytes]] = {}

    def _target(self, url: str) -> tuple[_Key, bytes]:
        found = self._targets.get(url)
        if found is None:
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            if scheme not in _DEFAULT_PORTS or not parts.hostname:
                raise UpstreamError(f"unsupported upstream URL {url!r}")
            port = parts.port or _DEFAULT_PORTS[scheme]
            host = parts.hostname
            host_header = host if parts.port is None else f"{host}:{port}"
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            head = f"POST {path} HTTP/1.1\r\nHost: {host_header}\r\n".encode("latin-1")
            found = self._targets[url] = ((scheme, host, port), head)
        return found

    async def _connect(self, key: _Key) -> _Connection:
        scheme, host, port = key
        context = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            context = self._ssl
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                _, conn = await loop.create_connection(
                    _Connection, host, port, ssl=context, server_hostname=host if context else None
                )
        except TimeoutError:
            raise UpstreamTimeout(f"could not connect to {host}:{port} in time") from None
        except OSError as exc:
            raise UpstreamError(f"could not connect to {host}:{port}: {exc}") from exc
        return conn

    def put_back(self, key: _Key, conn: _Connection) -> None:
        idle = self._idle.setdefault(key, [])
        answer = conn.answer
        if answer.complete and answer.keep_alive and not conn.closed and len(idle) < self.max_idle:
            idle.append(conn)
        else:
            conn._close()

    def _idle_connection(self, key: _Key) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.closed and conn.error is None:
                return conn
        return None

    async def post(self, url: str, body: bytes, headers: bytes) -> Response:
        """Send `body`; return once the answer's status and headers arrived.

        `headers` are ready-encoded header lines (`Name: value\\r\\n` each). A reused
        connection that the upstream closed before answering a single byte (a keep-alive
        race) is retried once on a new connection; nothing else is retried.
        """
        key, head = self._target(url)
        request = b"%s%sContent-Length: %d\r\n\r\n%s" % (head, headers, len(body), body)
        conn = self._idle_connection(key)
        reused = conn is not None
        if conn is None:
            conn = await self._connect(key)
        try:
            conn.start(request)
            await conn.headers(self.timeout_s)
        except UpstreamError as exc:
            conn._close()
            if isinstance(exc, UpstreamTimeout) or not reused or conn.answer.received:
                raise
            conn = await self._connect(key)
            try:
                conn.start(request)
                await conn.headers(self.timeout_s)
            except BaseException:
                conn._close()
                raise
        except BaseException:  # cancelled: the connection is mid-request, unusable
            conn._close()
            raise
        return Response(self, key, conn, url)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for conn in connections:
                conn._close()
