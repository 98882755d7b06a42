"""What the gateway adds over calling the upstream directly (issue 15's targets).

- Upstream: a minimal raw-ASGI app (no framework, zero delay) under uvicorn with uvloop and
  httptools, answering `POST /v1/chat/completions` in JSON and in SSE (five content chunks,
  a finish chunk, a usage chunk, `data: [DONE]`).
- Gateway: `myia serve` (its own process) on a fresh PostgreSQL database with REDIS_URL set,
  as in production; the catalog holds one certified deployment on the upstream, a user and
  an API key.
- Client: one `httpx.AsyncClient` per run (keep-alive), the same requests straight to the
  upstream and through the gateway, plain and streamed; runs alternate direct/gateway.
  Concurrency 1: p50/p99 latency and time to first content chunk (TTFT), the gateway's
  added cost being the difference of the percentiles. Concurrency 32: requests per second,
  ratio gateway/direct (the worse of plain and streamed is reported).
- Gateway CPU: user+system time of the `myia serve` process (from /proc) over every
  gateway request of the run, per request.

`--peer litellm`: after the gateway's rounds (and with `myia serve` stopped), the LiteLLM proxy
(installed in its own venv, `bench/.peer/litellm` by default, never a project dependency;
one worker, master key, no database) is measured the same way against the same upstream,
with fewer requests (it is two orders of magnitude slower at c=32); its figures go under
`peer` in the results.

    .venv/bin/python bench/gateway_overhead.py [--requests N] [--c32-requests N] [--runs N]

Each figure is the median over `--runs` rounds against the same processes (the machine is
shared: a single round can be off by several milliseconds); `per_run` keeps every round.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

RESULTS = Path(__file__).parent / "results" / "gateway_overhead.json"
PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
MODEL = "bench-chat"
BODY = {"model": MODEL, "messages": [{"role": "user", "content": "Say hello in five words."}]}
STREAM_BODY = {**BODY, "stream": True, "stream_options": {"include_usage": True}}
BIN = Path(sys.executable).parent


# --- the upstream: raw ASGI ---------------------------------------------------------------
_COMPLETION = json.dumps(
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


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
    choices = [{"index": 0, "delta": delta, "finish_reason": finish}] if extra == {} else []
    chunk = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_700_000_000,
             "model": "bench-model", "choices": choices, **extra}  # fmt: skip
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


_STREAM = (
    [_chunk({"role": "assistant", "content": ""})]
    + [_chunk({"content": w}) for w in ("Hello ", "there, ", "how ", "are ", "you?")]
    + [_chunk({}, "stop")]
    + [_chunk({}, usage={"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18})]
    + [b"data: [DONE]\n\n"]
)


async def upstream_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    stream = b'"stream": true' in body or b'"stream":true' in body
    if not stream:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": _COMPLETION})
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream")]})  # fmt: skip
    for frame in _STREAM:
        await send({"type": "http.response.body", "body": frame, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def serve_upstream(port: int) -> None:
    import uvicorn

    uvicorn.run(upstream_app, host="127.0.0.1", port=port, loop="uvloop", http="httptools",
                log_level="warning", access_log=False, lifespan="off")  # fmt: skip


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


async def seed(db_url: str, upstream: str) -> str:
    """The catalog: one certified deployment on the upstream; a user with an API key."""
    from datetime import timedelta

    from myia.apikeys.service import create_api_key
    from myia.auth.passwords import hash_password
    from myia.db.engine import Database
    from myia.db.enums import AuthType, CertificationStatus
    from myia.db.models import BaseModel, ModelCertification, ModelDeployment, Provider, User
    from myia.db.types import utcnow

    database = Database(db_url)
    try:
        async with database.session() as session:
            provider = Provider(slug="upstream", name="Bench upstream", auth_type=AuthType.API_KEY,
                                base_url=f"{upstream}/v1")  # fmt: skip
            base = BaseModel(name="Bench Chat", vendor="Bench", capabilities={"streaming": True})
            session.add_all([provider, base])
            await session.flush()
            deployment = ModelDeployment(base_model_id=base.id, provider_id=provider.id,
                                         deployment_id="bench-model", cost_per_1m_input=1.0,
                                         cost_per_1m_output=2.0)  # fmt: skip
            session.add(deployment)
            await session.flush()
            now = utcnow()
            results = [{"name": "streaming", "capability": "streaming", "status": "passed"}]
            session.add(ModelCertification(
                deployment_id=deployment.id, region="global", status=CertificationStatus.CERTIFIED,
                certified_at=now, expires_at=now + timedelta(days=30), test_results=results,
                rating=4.0, badge="RECOMMENDED"))  # fmt: skip
            user = User(email="bench@example.com", password_hash=hash_password("bench-pw-0000"))
            session.add(user)
            await session.commit()
            _, key = await create_api_key(session=session, user_id=user.id, name="bench")
            return key
    finally:
        await database.dispose()


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


def start_litellm(binary: Path, upstream: str, port: int, workdir: Path
                  ) -> subprocess.Popen[bytes]:  # fmt: skip
    config = workdir / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
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


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- measurement --------------------------------------------------------------------------
RETRIED: dict[str, int] = {}


async def one(client: httpx.AsyncClient, url: str, headers: dict[str, str], stream: bool
              ) -> tuple[float, float | None]:  # fmt: skip
    """(latency ms, time to the first content chunk ms); a request whose pooled connection
    the server had just closed (keep-alive race) is sent again once, and counted."""
    try:
        return await _one(client, url, headers, stream)
    except (httpx.ReadError, httpx.RemoteProtocolError):
        RETRIED[url] = RETRIED.get(url, 0) + 1
        return await _one(client, url, headers, stream)


async def _one(client: httpx.AsyncClient, url: str, headers: dict[str, str], stream: bool
               ) -> tuple[float, float | None]:  # fmt: skip
    start = time.perf_counter()
    if not stream:
        response = await client.post(url, json=BODY, headers=headers)
        response.raise_for_status()
        return (time.perf_counter() - start) * 1000, None
    ttft = None
    async with client.stream("POST", url, json=STREAM_BODY, headers=headers) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if ttft is None and ('"content": "H' in line or '"content":"H' in line):
                ttft = (time.perf_counter() - start) * 1000
    return (time.perf_counter() - start) * 1000, ttft


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def sequential(targets: dict[str, tuple[str, dict[str, str]]], n: int, stream: bool
                     ) -> dict[str, dict[str, list[float]]]:  # fmt: skip
    found: dict[str, dict[str, list[float]]] = {k: {"lat": [], "ttft": []} for k in targets}
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(20):  # warm-up: connections, caches, adapters
            for url, headers in targets.values():
                await one(client, url, headers, stream)
        for _ in range(n):
            for name, (url, headers) in targets.items():  # alternate: drift hits both
                latency, ttft = await one(client, url, headers, stream)
                found[name]["lat"].append(latency)
                if ttft is not None:
                    found[name]["ttft"].append(ttft)
    return found


async def throughput(url: str, headers: dict[str, str], n: int, stream: bool,
                     concurrency: int = 32) -> float:  # fmt: skip
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        await asyncio.gather(*(one(client, url, headers, stream) for _ in range(concurrency)))
        left = n

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                await one(client, url, headers, stream)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return n / (time.perf_counter() - start)


async def measure(direct: str, gateway: str, key: str, gw_pid: int, args: argparse.Namespace,
                  *, requests: int | None = None, c32_requests: int | None = None,
                  ) -> dict[str, Any]:  # fmt: skip
    """`gateway` is `myia serve` or the peer (any OpenAI-compatible proxy to the upstream)."""
    n_seq = requests or args.requests
    n_c32 = c32_requests or args.c32_requests
    auth = {"Authorization": f"Bearer {key}"}
    targets = {"direct": (f"{direct}/v1/chat/completions", {}),
               "gateway": (f"{gateway}/v1/chat/completions", auth)}  # fmt: skip
    out: dict[str, Any] = {}
    cpu_before = cpu_seconds(gw_pid)
    gw_requests = 0
    for stream in (False, True):
        kind = "stream" if stream else "plain"
        seq = await sequential(targets, n_seq, stream)
        gw_requests += n_seq + 20
        d, g = seq["direct"], seq["gateway"]
        out[kind] = {
            "direct_p50_ms": pct(d["lat"], 50), "direct_p99_ms": pct(d["lat"], 99),
            "gateway_p50_ms": pct(g["lat"], 50), "gateway_p99_ms": pct(g["lat"], 99),
            "added_p50_ms": pct(g["lat"], 50) - pct(d["lat"], 50),
            "added_p99_ms": pct(g["lat"], 99) - pct(d["lat"], 99),
        }  # fmt: skip
        if stream:
            out[kind]["added_ttft_p50_ms"] = pct(g["ttft"], 50) - pct(d["ttft"], 50)
            out[kind]["direct_ttft_p50_ms"] = pct(d["ttft"], 50)
            out[kind]["gateway_ttft_p50_ms"] = pct(g["ttft"], 50)
        rps_direct = await throughput(targets["direct"][0], {}, n_c32, stream)
        rps_gateway = await throughput(targets["gateway"][0], auth, n_c32, stream)
        gw_requests += n_c32 + 32
        out[kind].update(rps_direct_c32=rps_direct, rps_gateway_c32=rps_gateway,
                         throughput_ratio_c32=rps_gateway / rps_direct)  # fmt: skip
    out["gw_cpu_ms_per_req"] = (cpu_seconds(gw_pid) - cpu_before) * 1000 / gw_requests
    return out


def headline(result: dict[str, Any]) -> dict[str, float]:
    """The issue's figures for one run: the worse of plain and streamed."""
    plain, stream = result["plain"], result["stream"]
    return {
        "added_p50_ms_c1": max(plain["added_p50_ms"], stream["added_p50_ms"]),
        "added_p99_ms_c1": max(plain["added_p99_ms"], stream["added_p99_ms"]),
        "added_ttft_p50_ms_c1": stream["added_ttft_p50_ms"],
        "throughput_ratio_c32": min(plain["throughput_ratio_c32"], stream["throughput_ratio_c32"]),
        "gw_cpu_ms_per_req": result["gw_cpu_ms_per_req"],
    }


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Every detail figure as the median over the runs."""
    out: dict[str, Any] = {
        "gw_cpu_ms_per_req": statistics.median(r["gw_cpu_ms_per_req"] for r in runs)
    }
    for kind in ("plain", "stream"):
        out[kind] = {key: statistics.median(r[kind][key] for r in runs) for key in runs[0][kind]}
    return out


def table(result: dict[str, Any]) -> str:
    rows = [("", "plain", "stream")]
    for key in ("direct_p50_ms", "gateway_p50_ms", "added_p50_ms", "direct_p99_ms",
                "gateway_p99_ms", "added_p99_ms", "rps_direct_c32", "rps_gateway_c32",
                "throughput_ratio_c32"):  # fmt: skip
        rows.append((key, f"{result['plain'][key]:.3f}", f"{result['stream'][key]:.3f}"))
    rows.append(("added_ttft_p50_ms", "-", f"{result['stream']['added_ttft_p50_ms']:.3f}"))
    rows.append(("gw_cpu_ms_per_req", f"{result['gw_cpu_ms_per_req']:.3f}", ""))
    return "\n".join(f"{a:<24} {b:>10} {c:>10}" for a, b, c in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="sequential requests per kind")
    parser.add_argument("--c32-requests", type=int, default=2000, help="requests at c=32")
    parser.add_argument(
        "--runs", type=int, default=3, help="measurement rounds (the median is reported)"
    )
    parser.add_argument("--peer", choices=["litellm"], default=None)
    parser.add_argument(
        "--peer-venv",
        type=Path,
        default=Path(__file__).parent / ".peer" / "litellm",
        help="the peer's own virtual environment (created if missing)",
    )
    parser.add_argument("--peer-requests", type=int, default=100, help="sequential, peer")
    parser.add_argument("--peer-c32-requests", type=int, default=300, help="at c=32, peer")
    parser.add_argument(
        "--gateway-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for `myia serve` (e.g. LOG_LEVEL=WARNING), repeatable",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--serve-upstream", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream is not None:
        serve_upstream(args.serve_upstream)
        return

    up_port, gw_port = free_port(), free_port()
    upstream = f"http://127.0.0.1:{up_port}"
    gateway = f"http://127.0.0.1:{gw_port}"
    name = f"myia_bench_gw_{os.getpid()}"
    db_url = asyncio.run(make_database(name))
    processes: list[subprocess.Popen[bytes]] = []
    peer_runs: list[dict[str, Any]] = []
    try:
        from myia.db.migrate import upgrade

        upgrade(db_url)
        key = asyncio.run(seed(db_url, upstream))
        processes.append(subprocess.Popen([sys.executable, __file__, "--serve-upstream",
                                           str(up_port)]))  # fmt: skip
        env = {**os.environ, "MYIA_MODE": "production", "DATABASE_URL": db_url,
               "REDIS_URL": REDIS_URL, "ENCRYPTION_SECRET": secrets.token_urlsafe(32),
               "JWT_SECRET": secrets.token_urlsafe(32), "QUEUE_WORKERS_ENABLED": "false",
               "RETENTION_INTERVAL_S": "0", "UPSTREAM_API_KEY": "bench"}  # fmt: skip
        env.pop("QUEUE_URL", None)
        env.update(dict(item.split("=", 1) for item in args.gateway_env))
        gw = subprocess.Popen([str(BIN / "myia"), "serve", "--port", str(gw_port)], env=env,
                              stdout=subprocess.DEVNULL)  # fmt: skip
        processes.append(gw)
        wait_http(f"{upstream}/")
        wait_http(f"{gateway}/api/health")
        runs = [
            asyncio.run(measure(upstream, gateway, key, gw.pid, args)) for _ in range(args.runs)
        ]
        gw.terminate()  # the peer runs alone, as the gateway did
        if args.peer == "litellm":
            peer_port = free_port()
            workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"myia_bench_peer_{os.getpid()}"
            workdir.mkdir(exist_ok=True)
            peer = start_litellm(litellm_venv(args.peer_venv), upstream, peer_port, workdir)
            processes.append(peer)
            wait_http(f"http://127.0.0.1:{peer_port}/health/liveliness", timeout_s=180)
            peer_runs = [
                asyncio.run(
                    measure(
                        upstream,
                        f"http://127.0.0.1:{peer_port}",
                        PEER_KEY,
                        peer.pid,
                        args,
                        requests=args.peer_requests,
                        c32_requests=args.peer_c32_requests,
                    )
                )
                for _ in range(args.runs)
            ]
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)
        asyncio.run(drop_database(name))

    figures = [headline(run) for run in runs]
    result = median_run(runs)
    summary = {
        **{name: statistics.median(f[name] for f in figures) for name in figures[0]},
        "targets": {
            "added_p50_ms_c1": 2.0,
            "added_p99_ms_c1": 5.0,
            "added_ttft_p50_ms_c1": 2.0,
            "throughput_ratio_c32": 0.3,
        },
        "peer": None,
        "detail": result,
        "runs": len(runs),
        "per_run": figures,
        "requests_c1": args.requests,
        "requests_c32": args.c32_requests,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    summary["gateway_env"] = args.gateway_env
    if peer_runs:
        peer_figures = [headline(run) for run in peer_runs]
        summary["peer"] = {
            "name": f"litellm-proxy {LITELLM_VERSION}",
            **{name: statistics.median(f[name] for f in peer_figures) for name in peer_figures[0]},
            "per_run": peer_figures,
            "detail": median_run(peer_runs),
            "requests_c1": args.peer_requests,
            "requests_c32": args.peer_c32_requests,
        }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, indent=2) + "\n")
    print(table(result))
    print(json.dumps({k: v for k, v in summary.items() if k not in ("detail", "machine")},
                     indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
