"""What the gateway adds over calling the upstream directly (issues 15 and 22).

- Upstream: a minimal raw-ASGI app (no framework, zero delay) under uvicorn with uvloop and
  httptools, answering `POST /v1/chat/completions` in JSON and in SSE (five content chunks,
  a finish chunk, a usage chunk, `data: [DONE]`). Each upstream kind (`UPSTREAMS`) brings
  its bare server, the same call made straight to it, and the catalog rows that route a
  model to it; a second kind (e.g. Bedrock's wire) is one more `UpstreamKind` entry.
- Gateway: `myia serve` (its own process) on a fresh PostgreSQL database with REDIS_URL set,
  as in production; the catalog holds one certified deployment per upstream kind, a user and
  an API key. `--catalogs small,big` measures again with the catalog bench's 10,000
  deployments and 60,000 certifications loaded beside it (bench/catalog_fill.py), on a
  freshly started gateway.
- Client: its own process (`--client`, uvloop), one `asyncio.Protocol` per keep-alive
  connection and the `httptools` parser, the requests' bytes prepared once: a few tens of
  microseconds of CPU per request, so the bare upstream is reached several times faster than
  through the gateway (its ceiling, `client.rps_direct_c32`, is in the results with its CPU
  per request). httpx, used before, cost ~1 ms a request: at c=32 it measured itself
  (~400 requests a second direct and through the gateway alike).
  Concurrency 1: requests alternate direct/gateway, p50/p99 latency and time to the first
  content chunk (TTFT); the gateway's added cost is the difference of the percentiles.
  Concurrency 32: closed loop for `--seconds` after a warm-up, requests per second, ratio
  gateway/direct (the worse of plain and streamed is the headline).
- CPU: user+system time of the client, the gateway and the upstream (from /proc, read by the
  client at the edges of each measured window) per request.

`--peer litellm`: after the gateway's rounds (and with `myia serve` stopped), the LiteLLM proxy
(installed in its own venv, `bench/.peer/litellm` by default, never a project dependency;
one worker, master key, no database) is measured the same way against the same upstream;
its figures go under `peer` in the results.

    .venv/bin/python bench/gateway_overhead.py [--requests N] [--seconds S] [--runs N]
        [--catalogs small,big] [--upstream openai] [--peer litellm]

Each figure is the median over `--runs` rounds against the same processes (the machine is
shared: a single round can be off by several milliseconds); `per_run` keeps every round, and
the load average is recorded before and after each catalog's rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import bedrock_upstream  # bench/, beside this script
import httptools
import httpx
from stress import cpu_stress  # bench/

RESULTS = Path(__file__).parent / "results" / "gateway_overhead.json"
PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
BIN = Path(sys.executable).parent
# In the first content chunk of every answer, direct or through the gateway.
FIRST_CONTENT = b"Hello"
PROMPT = [{"role": "user", "content": "Say hello in five words."}]
TARGETS = {
    "added_p50_ms_c1": 1.0,
    "added_p99_ms_c1": 3.0,
    "added_ttft_p50_ms_c1": 2.0,
    "throughput_ratio_c32": 0.5,
}

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


# --- the upstream kinds -------------------------------------------------------------------
async def read_body(receive: Any) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += bytes(message.get("body", b""))
        if not message.get("more_body"):
            return body


async def send_answer(send: Any, content_type: bytes, frames: list[bytes], stream: bool) -> None:
    """One JSON body, or SSE frames written one by one (`more_body`)."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", content_type)]})  # fmt: skip
    if not stream:
        await send({"type": "http.response.body", "body": frames[0]})
        return
    for frame in frames:
        await send({"type": "http.response.body", "body": frame, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


_OPENAI_COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "bench-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello there, how are you?"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18},
    }
).encode()


def _openai_chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
    choices = [{"index": 0, "delta": delta, "finish_reason": finish}] if extra == {} else []
    chunk = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_700_000_000,
             "model": "bench-model", "choices": choices, **extra}  # fmt: skip
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


_OPENAI_STREAM = (
    [_openai_chunk({"role": "assistant", "content": ""})]
    + [_openai_chunk({"content": w}) for w in ("Hello ", "there, ", "how ", "are ", "you?")]
    + [_openai_chunk({}, "stop")]
    + [_openai_chunk({}, usage={"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18})]
    + [b"data: [DONE]\n\n"]
)


async def openai_upstream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = await read_body(receive)
    if b'"stream": true' in body or b'"stream":true' in body:
        await send_answer(send, b"text/event-stream", _OPENAI_STREAM, True)
    else:
        await send_answer(send, b"application/json", [_OPENAI_COMPLETION], False)


def openai_direct(
    model: str, stream: bool, endpoint: str = ""
) -> tuple[str, dict[str, str], bytes]:
    body: dict[str, Any] = {"model": model, "messages": PROMPT}
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
    return "/v1/chat/completions", {"Content-Type": "application/json"}, json.dumps(body).encode()


async def openai_seed(session: Any, upstream: str) -> None:
    from catalog_fill import seed_certified

    from myia.db.enums import AuthType

    await seed_certified(session, slug="upstream", auth_type=AuthType.API_KEY,
                         base_url=f"{upstream}/v1", model_name="Bench Chat",
                         deployment_id="bench-model")  # fmt: skip


@dataclass(frozen=True)
class UpstreamKind:
    """One kind of upstream the gateway routes to.

    `model` is what clients ask the gateway for (OpenAI's wire, always); `direct(model,
    stream, endpoint)` is the same call made straight to the bare upstream at `endpoint`
    (path, headers, body; Bedrock's SigV4 signature covers the host);
    `seed(session, base URL)` adds the certified deployment that routes `model` to it;
    `env` is what `myia serve` needs to call it (credentials).
    """

    model: str
    app: ASGIApp
    direct: Callable[[str, bool, str], tuple[str, dict[str, str], bytes]]
    seed: Callable[[Any, str], Awaitable[None]]
    env: dict[str, str] = field(default_factory=dict)
    direct_model: str = "bench-model"
    targets: dict[str, float] = field(default_factory=lambda: dict(TARGETS))


UPSTREAMS: dict[str, UpstreamKind] = {
    "openai": UpstreamKind(
        model="bench-chat",
        app=openai_upstream,
        direct=openai_direct,
        seed=openai_seed,
        env={"UPSTREAM_API_KEY": "bench"},
    ),
    # Issue 22: the gateway's Bedrock route (routing/raw_bedrock.py) against a raw, signed
    # Converse call to the same zero-delay upstream (bench/bedrock_upstream.py).
    "bedrock": UpstreamKind(
        model="bench-bedrock",
        app=bedrock_upstream.bedrock_upstream,
        direct=bedrock_upstream.bedrock_direct,
        seed=bedrock_upstream.bedrock_seed,
        env=bedrock_upstream.BEDROCK_ENV,
        direct_model=bedrock_upstream.MODEL_ID,
        targets={"added_p50_ms_c1": 1.5, "throughput_ratio_c32": 0.7},
    ),
}


def serve_upstream(kind: str, port: int) -> None:
    import uvicorn

    uvicorn.run(UPSTREAMS[kind].app, host="127.0.0.1", port=port, loop="uvloop",
                http="httptools", log_level="warning", access_log=False,
                lifespan="off")  # fmt: skip


# --- the client process ------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Connection(asyncio.Protocol):
    """One keep-alive connection, one request at a time; the time the marker first arrives."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.done: asyncio.Future[int] | None = None
        self.marker: bytes | None = None
        self.first_at: float | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.marker is not None and self.first_at is None and self.marker in data:
            self.first_at = time.perf_counter()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionResetError("connection closed"))

    def on_message_complete(self) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(self.parser.get_status_code())

    def _fail(self, exc: BaseException) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(exc)

    def exchange(self, request: bytes, marker: bytes | None = None) -> asyncio.Future[int]:
        assert self.transport is not None
        self.done = asyncio.get_running_loop().create_future()
        self.marker, self.first_at = marker, None
        if self.transport.is_closing():  # the server closed it after the last answer
            self.done.set_exception(ConnectionResetError("connection closed"))
        else:
            self.transport.write(request)
        return self.done


async def _connect(host: str, port: int) -> _Connection:
    _, conn = await asyncio.get_running_loop().create_connection(_Connection, host, port)
    return conn


async def client_sequential(command: dict[str, Any]) -> dict[str, Any]:
    """Concurrency 1: each target in turn, `warmup` then `n` rounds; latencies and TTFTs."""
    targets = command["targets"]
    conns = [await _connect(t["host"], t["port"]) for t in targets]
    found: list[dict[str, list[float]]] = [{"lat": [], "ttft": []} for _ in targets]
    errors = 0
    marker = FIRST_CONTENT if command["stream"] else None
    for i in range(command["warmup"] + command["n"]):
        for k, target in enumerate(targets):
            request = target["request"].encode("latin-1")
            started = time.perf_counter()
            try:
                status = await asyncio.wait_for(conns[k].exchange(request, marker), 30)
            except (OSError, TimeoutError, httptools.HttpParserError):
                errors += 1
                conns[k] = await _connect(target["host"], target["port"])
                continue
            ended = time.perf_counter()
            if status != 200:
                errors += 1
            elif i >= command["warmup"]:
                found[k]["lat"].append((ended - started) * 1000)
                first_at = conns[k].first_at
                if marker is not None and first_at is not None:
                    found[k]["ttft"].append((first_at - started) * 1000)
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    return {"targets": found, "errors": errors}


async def client_load(command: dict[str, Any]) -> dict[str, Any]:
    """A closed loop of `concurrency` connections: `warmup_s`, then `seconds` measured.

    Answers completed inside the measured window are counted; the CPU of this process and of
    `pids` (gateway, upstream) is read at the window's edges."""
    host, port, concurrency = command["host"], command["port"], command["concurrency"]
    request = command["request"].encode("latin-1")
    pids: dict[str, int] = command.get("pids", {})
    loop = asyncio.get_running_loop()
    window: dict[str, float] = {"start": float("inf"), "end": float("inf")}
    count = errors = 0
    stopping = False

    async def worker() -> None:
        nonlocal count, errors
        conn = await _connect(host, port)
        try:
            while not stopping:
                try:
                    status = await asyncio.wait_for(conn.exchange(request), 60)
                except (OSError, TimeoutError, httptools.HttpParserError):
                    errors += 1
                    if conn.transport is not None:
                        conn.transport.close()
                    conn = await _connect(host, port)
                    continue
                now = loop.time()
                if status != 200:
                    errors += 1
                elif window["start"] <= now < window["end"]:
                    count += 1
        finally:
            if conn.transport is not None:
                conn.transport.close()

    def snapshot() -> dict[str, float]:
        cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
        cpu["client"] = time.process_time()
        return cpu

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    await asyncio.sleep(command["warmup_s"])
    before, window["start"] = snapshot(), loop.time()
    window["end"] = window["start"] + command["seconds"]
    await asyncio.sleep(command["seconds"])
    after = snapshot()
    elapsed = loop.time() - window["start"]
    stopping = True
    await asyncio.gather(*workers)
    return {
        "rps": count / elapsed,
        "requests": count,
        "errors": errors,
        "cpu_ms_per_req": {
            name: (after[name] - before[name]) * 1000 / max(count, 1) for name in before
        },
        "cpu_share": {name: (after[name] - before[name]) / elapsed for name in before},
    }


async def client_main() -> None:
    """Commands on stdin, one JSON document a line; each answer one line on stdout."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = json.loads(line)
        run = client_sequential if command["op"] == "seq" else client_load
        sys.stdout.write(json.dumps(await run(command)) + "\n")
        sys.stdout.flush()


class Client:
    """The client process, driven from here."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--client"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )

    def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(command).encode() + b"\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer:
            raise RuntimeError("the client process died")
        result: dict[str, Any] = json.loads(answer)
        return result

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=20)


# --- set-up -------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def make_database(name: str) -> str:
    connection = await asyncpg.connect(PG_ADMIN)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


async def drop_database(name: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def seed(db_url: str, upstreams: dict[str, str]) -> str:
    """The catalog: one certified deployment per upstream kind; a user with an API key."""
    from myia.apikeys.service import create_api_key
    from myia.auth.passwords import hash_password
    from myia.db.engine import Database
    from myia.db.models import User

    database = Database(db_url)
    try:
        async with database.session() as session:
            for kind, base_url in upstreams.items():
                await UPSTREAMS[kind].seed(session, base_url)
            user = User(email="bench@example.com", password_hash=hash_password("bench-pw-0000"))
            session.add(user)
            await session.commit()
            _, key = await create_api_key(session=session, user_id=user.id, name="bench")
            return key
    finally:
        await database.dispose()


async def fill_big_catalog(db_url: str) -> dict[str, int]:
    """The catalog bench's dataset (10,000 deployments, 60,000 certifications) beside ours."""
    from catalog_fill import fill_catalog

    return await fill_catalog(db_url)


def start_gateway(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(BIN / "myia"), "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL)  # fmt: skip


# --- the peer: LiteLLM proxy in its own virtual environment --------------------------------
LITELLM_VERSION = "1.106.2"
PEER_KEY = "sk-bench-peer"


def litellm_venv(path: Path) -> Path:
    """The proxy's own venv (created on first use; never a project dependency)."""
    binary = path / "bin" / "litellm"
    if not binary.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / ".gitignore").write_text("*\n")  # never committed
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(path / "bin" / "pip"), "install", "-q",
                        f"litellm[proxy]=={LITELLM_VERSION}"], check=True)  # fmt: skip
    return binary


def start_litellm(binary: Path, model: str, upstream: str, port: int, workdir: Path
                  ) -> subprocess.Popen[bytes]:  # fmt: skip
    config = workdir / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {model}\n"
        "    litellm_params:\n"
        "      model: openai/bench-model\n"
        f"      api_base: {upstream}/v1\n"
        "      api_key: bench\n"
        "general_settings:\n"
        f"  master_key: {PEER_KEY}\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return subprocess.Popen([str(binary), "--config", str(config), "--host", "127.0.0.1",
                             "--port", str(port), "--num_workers", "1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


# --- measurement --------------------------------------------------------------------------
def http_request(host: str, port: int, path: str, headers: dict[str, str], body: bytes) -> str:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return "\r\n".join(lines) + "\r\n\r\n" + body.decode("latin-1")  # sent as latin-1 bytes


@dataclass
class Target:
    """Where one kind of call goes, and its prepared request (plain and streamed)."""

    host: str
    port: int
    pid: int
    plain: str
    stream: str

    def request(self, stream: bool) -> str:
        return self.stream if stream else self.plain


def targets_for(kind: UpstreamKind, upstream_port: int, upstream_pid: int, gateway_port: int,
                gateway_pid: int, key: str) -> dict[str, Target]:  # fmt: skip
    host = "127.0.0.1"
    direct, gateway = {}, {}
    for stream in (False, True):
        path, headers, body = kind.direct(
            kind.direct_model, stream, f"http://{host}:{upstream_port}"
        )
        direct[stream] = http_request(host, upstream_port, path, headers, body)
        _, headers, body = openai_direct(kind.model, stream)
        headers = {**headers, "Authorization": f"Bearer {key}"}
        gateway[stream] = http_request(host, gateway_port, "/v1/chat/completions", headers, body)
    return {
        "direct": Target(host, upstream_port, upstream_pid, direct[False], direct[True]),
        "gateway": Target(host, gateway_port, gateway_pid, gateway[False], gateway[True]),
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def measure(client: Client, targets: dict[str, Target], args: argparse.Namespace
            ) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {}
    direct, gateway = targets["direct"], targets["gateway"]
    for stream in (False, True):
        kind = "stream" if stream else "plain"
        seq = client.ask({
            "op": "seq", "stream": stream, "n": args.requests, "warmup": 20,
            "targets": [{"host": t.host, "port": t.port, "request": t.request(stream)}
                        for t in (direct, gateway)],
        })  # fmt: skip
        d, g = seq["targets"]
        row: dict[str, Any] = {
            "direct_p50_ms": pct(d["lat"], 50), "direct_p99_ms": pct(d["lat"], 99),
            "gateway_p50_ms": pct(g["lat"], 50), "gateway_p99_ms": pct(g["lat"], 99),
            "added_p50_ms": pct(g["lat"], 50) - pct(d["lat"], 50),
            "added_p99_ms": pct(g["lat"], 99) - pct(d["lat"], 99),
            "errors_c1": seq["errors"],
        }  # fmt: skip
        if stream:
            row["added_ttft_p50_ms"] = pct(g["ttft"], 50) - pct(d["ttft"], 50)
            row["direct_ttft_p50_ms"] = pct(d["ttft"], 50)
            row["gateway_ttft_p50_ms"] = pct(g["ttft"], 50)
        loads = {}
        for name, target in (("direct", direct), ("gateway", gateway)):
            pids = {"upstream": direct.pid}
            if name == "gateway":
                pids["gateway"] = gateway.pid
            loads[name] = client.ask({
                "op": "load", "host": target.host, "port": target.port, "concurrency": 32,
                "request": target.request(stream), "warmup_s": args.warmup,
                "seconds": args.seconds, "pids": pids,
            })  # fmt: skip
        ld, lg = loads["direct"], loads["gateway"]
        row.update(
            rps_direct_c32=ld["rps"],
            rps_gateway_c32=lg["rps"],
            throughput_ratio_c32=lg["rps"] / ld["rps"],
            errors_c32=ld["errors"] + lg["errors"],
            gw_cpu_ms_per_req=lg["cpu_ms_per_req"]["gateway"],
            gw_cpu_share_c32=lg["cpu_share"]["gateway"],
            client_cpu_ms_per_req_direct=ld["cpu_ms_per_req"]["client"],
            client_cpu_ms_per_req_gateway=lg["cpu_ms_per_req"]["client"],
            client_cpu_share_direct=ld["cpu_share"]["client"],
            client_cpu_share_gateway=lg["cpu_share"]["client"],
            upstream_cpu_ms_per_req=ld["cpu_ms_per_req"]["upstream"],
        )
        out[kind] = row
    return out


def headline(result: dict[str, Any]) -> dict[str, float]:
    """The issue's figures for one run: the worse of plain and streamed."""
    plain, stream = result["plain"], result["stream"]
    return {
        "added_p50_ms_c1": max(plain["added_p50_ms"], stream["added_p50_ms"]),
        "added_p99_ms_c1": max(plain["added_p99_ms"], stream["added_p99_ms"]),
        "added_ttft_p50_ms_c1": stream["added_ttft_p50_ms"],
        "throughput_ratio_c32": min(plain["throughput_ratio_c32"], stream["throughput_ratio_c32"]),
        "throughput_ratio_c32_plain": plain["throughput_ratio_c32"],
        "throughput_ratio_c32_stream": stream["throughput_ratio_c32"],
        "gw_cpu_ms_per_req": max(plain["gw_cpu_ms_per_req"], stream["gw_cpu_ms_per_req"]),
        "client_rps_direct_c32": min(plain["rps_direct_c32"], stream["rps_direct_c32"]),
        "client_cpu_ms_per_req": max(
            plain["client_cpu_ms_per_req_direct"], stream["client_cpu_ms_per_req_direct"]
        ),
    }


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Every detail figure as the median over the runs."""
    return {
        kind: {key: statistics.median(r[kind][key] for r in runs) for key in runs[0][kind]}
        for kind in ("plain", "stream")
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    figures = [headline(run) for run in runs]
    return {
        **{name: statistics.median(f[name] for f in figures) for name in figures[0]},
        "per_run": figures,
        "detail": median_run(runs),
    }


def table(result: dict[str, Any]) -> str:
    rows = [("", "plain", "stream")]
    for key in ("direct_p50_ms", "gateway_p50_ms", "added_p50_ms", "direct_p99_ms",
                "gateway_p99_ms", "added_p99_ms", "rps_direct_c32", "rps_gateway_c32",
                "throughput_ratio_c32", "gw_cpu_ms_per_req", "upstream_cpu_ms_per_req",
                "client_cpu_ms_per_req_direct", "client_cpu_ms_per_req_gateway",
                "client_cpu_share_gateway"):  # fmt: skip
        rows.append((key, f"{result['plain'][key]:.3f}", f"{result['stream'][key]:.3f}"))
    rows.append(("added_ttft_p50_ms", "-", f"{result['stream']['added_ttft_p50_ms']:.3f}"))
    return "\n".join(f"{a:<30} {b:>10} {c:>10}" for a, b, c in rows)


def rounds(client: Client, targets: dict[str, Target], args: argparse.Namespace
           ) -> dict[str, Any]:  # fmt: skip
    load_before = os.getloadavg()
    runs = [measure(client, targets, args) for _ in range(args.runs)]
    found = summarise(runs)
    found["load_average"] = {"before": load_before, "after": os.getloadavg()}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="sequential requests per kind")
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds at c=32")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds at c=32")
    parser.add_argument(
        "--runs", type=int, default=3, help="measurement rounds (the median is reported)"
    )
    parser.add_argument("--catalogs", default="small,big",
                        help="small: the bench's rows only; big: + 10,000 deployments")  # fmt: skip
    parser.add_argument("--upstream", action="append", choices=sorted(UPSTREAMS), default=None)
    parser.add_argument(
        "--cpu-stress", action="store_true", help="one busy process per core while measuring"
    )
    parser.add_argument("--peer", choices=["litellm"], default=None)
    parser.add_argument(
        "--peer-venv",
        type=Path,
        default=Path(__file__).parent / ".peer" / "litellm",
        help="the peer's own virtual environment (created if missing)",
    )
    parser.add_argument(
        "--gateway-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for `myia serve` (e.g. LOG_LEVEL=WARNING), repeatable",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--serve-upstream", nargs=2, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream is not None:
        serve_upstream(args.serve_upstream[0], int(args.serve_upstream[1]))
        return
    if args.client:
        import uvloop

        uvloop.run(client_main())
        return
    kinds = args.upstream or ["openai"]  # the results file's figures; --upstream bedrock too
    catalogs = [c for c in args.catalogs.split(",") if c]

    up_ports = {kind: free_port() for kind in kinds}
    gw_port = free_port()
    upstream_urls = {kind: f"http://127.0.0.1:{port}" for kind, port in up_ports.items()}
    name = f"myia_bench_gw_{os.getpid()}"
    db_url = asyncio.run(make_database(name))
    processes: list[subprocess.Popen[bytes]] = []
    upstream_pids: dict[str, int] = {}
    results: dict[str, dict[str, Any]] = {}
    catalog_rows: dict[str, int] = {}
    peer: dict[str, Any] | None = None
    client = Client()
    try:
        from myia.db.migrate import upgrade

        upgrade(db_url)
        key = asyncio.run(seed(db_url, upstream_urls))
        for kind, port in up_ports.items():
            process = subprocess.Popen([sys.executable, __file__, "--serve-upstream", kind,
                                        str(port)])  # fmt: skip
            processes.append(process)
            upstream_pids[kind] = process.pid
        env = {**os.environ, "MYIA_MODE": "production", "DATABASE_URL": db_url,
               "REDIS_URL": REDIS_URL, "ENCRYPTION_SECRET": secrets.token_urlsafe(32),
               "JWT_SECRET": secrets.token_urlsafe(32), "QUEUE_WORKERS_ENABLED": "false",
               "RETENTION_INTERVAL_S": "0"}  # fmt: skip
        for kind in kinds:
            env.update(UPSTREAMS[kind].env)
        env.pop("QUEUE_URL", None)
        env.update(dict(item.split("=", 1) for item in args.gateway_env))
        for url in upstream_urls.values():
            wait_http(f"{url}/")
        for catalog in catalogs:
            if catalog == "big":
                catalog_rows = asyncio.run(fill_big_catalog(db_url))
            gw = start_gateway(gw_port, env)
            processes.append(gw)
            wait_http(f"http://127.0.0.1:{gw_port}/api/health")
            results[catalog] = {}
            for kind in kinds:
                targets = targets_for(UPSTREAMS[kind], up_ports[kind], upstream_pids[kind],
                                      gw_port, gw.pid, key)  # fmt: skip
                with cpu_stress(args.cpu_stress):
                    results[catalog][kind] = rounds(client, targets, args)
                print(f"--- catalog {catalog}, upstream {kind}")
                print(table(results[catalog][kind]["detail"]))
            gw.terminate()  # the next catalog, or the peer, runs alone
            gw.wait(timeout=20)
        if args.peer == "litellm":
            peer_port = free_port()
            workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"myia_bench_peer_{os.getpid()}"
            workdir.mkdir(exist_ok=True)
            kind = UPSTREAMS["openai"]
            process = start_litellm(litellm_venv(args.peer_venv), kind.model,
                                    upstream_urls["openai"], peer_port, workdir)  # fmt: skip
            processes.append(process)
            wait_http(f"http://127.0.0.1:{peer_port}/health/liveliness", timeout_s=180)
            targets = targets_for(kind, up_ports["openai"], upstream_pids["openai"], peer_port,
                                  process.pid, PEER_KEY)  # fmt: skip
            peer = {"name": f"litellm-proxy {LITELLM_VERSION}", **rounds(client, targets, args)}
    finally:
        client.close()
        for process in processes:
            process.terminate()
            process.wait(timeout=20)
        asyncio.run(drop_database(name))

    first = results[catalogs[0]]
    headline_kind = {
        name: (max if name.startswith(("added", "gw_cpu", "client_cpu")) else min)(
            first[kind][name] for kind in kinds
        )
        for name in (
            "added_p50_ms_c1", "added_p99_ms_c1", "added_ttft_p50_ms_c1",
            "throughput_ratio_c32", "throughput_ratio_c32_plain",
            "throughput_ratio_c32_stream", "gw_cpu_ms_per_req", "client_rps_direct_c32",
            "client_cpu_ms_per_req",
        )
    }  # fmt: skip
    summary = {
        **headline_kind,
        "targets": UPSTREAMS[kinds[0]].targets
        if len(kinds) == 1
        else {kind: UPSTREAMS[kind].targets for kind in kinds},
        "catalog": catalogs[0],
        "catalogs": results,
        "big_catalog_rows": catalog_rows,
        "peer": peer,
        "runs": args.runs,
        "requests_c1": args.requests,
        "seconds_c32": args.seconds,
        "client": "bench/gateway_overhead.py --client: own process, uvloop, asyncio.Protocol + "
        "httptools, one keep-alive connection per concurrent request",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "gateway_env": args.gateway_env,
        "cpu_stress": args.cpu_stress,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k not in ("catalogs", "machine")},
                     indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
