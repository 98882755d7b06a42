"""Load: the catalog and the gateway under `myia serve` (uvicorn) with 64 concurrent clients,
for a bounded time each, while a certification job runs in the same server.

- A fresh PostgreSQL database, migrated and seeded (`myia db migrate`, `myia db seed`); the
  provider simulator (`myia sim`, scenarios/demo.yaml) as its own process, every seeded
  provider pointed at it (`myia providers set-url … --simulated`); Bedrock us-east-1
  discovered; Groq's models certified for real through the simulator so the gateway has a
  certified route; a user with a password (catalog, JWT) and an API key (gateway).
- `myia serve` (embedded queue workers) as its own process; `myia certify --all --no-wait`
  queues a certification job that the server works on during both phases.
- Phase 1: 64 clients GET /api/v2/models and /api/v2/deployments in turn for `--seconds`.
  Phase 2: 64 clients POST /v1/chat/completions (non-streamed) for `--seconds`.
  Clients are closed-loop (the next request when the last is answered), one keep-alive
  connection each, driven by bench/loadgen.py: httpx's own CPU queued the clients on a 2-core
  machine and showed up as server latency.
- Each process's resident memory (VmRSS) after a warm-up and at the end.
- Production logging (INFO lines on stdout and in the `logs` table) unless `--quiet-logs`;
  `--no-job` runs no certification job; `--cpu-stress` keeps every core busy with other
  processes during the measured phases.

Writes bench/results/load.json (`errors`, `catalog_p99_ms_c64`, `rss_growth_pct`, …).
Targets (issue 17): 0 errors, catalog p99 ≤ 100 ms at 64 clients, RSS growth ≤ 10 %.

    .venv/bin/python bench/load.py [--seconds 20] [--clients 64] [--quiet-logs] [--no-job]
        [--cpu-stress] [--output PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from loadgen import MakeRequest, Request, Tally, run_closed_loop
from stress import cpu_stress

try:  # the client's own loop costs less CPU on uvloop (installed with uvicorn[standard])
    from uvloop import run as asyncio_run
except ImportError:  # pragma: no cover
    from asyncio import run as asyncio_run

RESULTS = Path(__file__).parent / "results" / "load.json"
REPO = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MYIA = str(Path(sys.executable).with_name("myia"))
PASSWORD = "load-bench-password"
GATEWAY_MODEL = "llama-3.1-8b-instant"
SIM_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIAMYIADEMOSIMULATE",
    "AWS_SECRET_ACCESS_KEY": "myia-demo-simulated-secret-key",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "OPENAI_API_KEY": "sim-key",
    "GROQ_API_KEY": "sim-key",
    "TOGETHER_API_KEY": "sim-key",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_scenario(directory: Path) -> Path:
    """scenarios/demo.yaml with Groq's simulated quota (30 req/s, shared with the
    certification job) lifted: the bench measures MyIA, not the simulator's throttle; with
    it, a faster gateway turns into the provider's 429s passed through."""
    import yaml

    scenario = yaml.safe_load((REPO / "scenarios" / "demo.yaml").read_text())
    for provider in scenario.get("openai_providers", []):
        if provider.get("slug") == "groq":
            provider["quota"] = {"requests_per_second": 100000, "burst": 100000}
    path = directory / "load-scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    return path


def wait_http(url: str, timeout_s: float = 120.0) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout_s:g}s")


def myia(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([MYIA, *args], env=env, input=stdin, capture_output=True, text=True,
                          cwd=REPO, timeout=900)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"myia {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout


async def admin(statement: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def api_key(db_url: str, email: str) -> str:
    from sqlalchemy import select

    from myia.apikeys.service import create_api_key
    from myia.db.engine import Database
    from myia.db.models import User

    database = Database(db_url)
    try:
        async with database.session() as session:
            user = (await session.scalars(select(User).where(User.email == email))).one()
            _, key = await create_api_key(session=session, user_id=user.id, name="load")
            return key
    finally:
        await database.dispose()


def per_request(pid: int, cpu_before: float, figures: dict[str, Any]) -> float | None:
    """The server's CPU over the phase per answered request (the certification job's share
    included): what bounds throughput whatever else runs on the machine."""
    used = cpu_s(pid) - cpu_before
    return round(1000 * used / figures["requests"], 2) if figures["requests"] else None


async def items_left(db_url: str) -> int:
    """Certification items not finished yet: the job was still running if > 0."""
    connection = await asyncpg.connect(db_url)
    try:
        left = await connection.fetchval(
            "SELECT count(*) FROM certification_job_items WHERE status IN ('QUEUED', 'PROCESSING')"
        )
        return int(left)
    finally:
        await connection.close()


def figures(tally: Tally, seconds: float) -> dict[str, Any]:
    ordered = sorted(tally.latencies_ms)

    def pct(p: float) -> float | None:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1) if ordered else None

    return {
        "requests": len(ordered),
        "throughput_rps": round(len(ordered) / seconds, 1),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "mean_ms": round(statistics.fmean(ordered), 1) if ordered else None,
        "errors": sum(tally.errors.values()),
        "error_kinds": tally.errors,
        "mean_body_bytes": round(tally.body_bytes / len(ordered)) if ordered else None,
    }


def run_phase(base: str, clients: int, seconds: float, make: MakeRequest) -> dict[str, Any]:
    """Closed loop: each client sends its next request when the last one is answered."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    tally = asyncio_run(run_closed_loop(host, int(port), clients, seconds, make))
    return figures(tally, seconds)


def measured_phase(
    server_pid: int, db_url: str, app_url: str, options: argparse.Namespace, make: MakeRequest
) -> dict[str, Any]:
    """One timed phase with the server's CPU per request and how far the certification job
    got meanwhile (each item it finishes invalidates the cached catalog and routes)."""
    left_before, cpu = asyncio.run(items_left(db_url)), cpu_s(server_pid)
    result = run_phase(app_url, options.clients, options.seconds, make)
    result["serve_cpu_ms_per_request"] = per_request(server_pid, cpu, result)
    result["job_items_left_at_end"] = left = asyncio.run(items_left(db_url))
    result["job_items_done_during_phase"] = left_before - left
    return result


def check_answers(
    app_url: str, *, bearer: dict[str, str], gateway: dict[str, str], body: dict[str, Any]
) -> None:
    """What the clients will ask answers for real before anything is timed: a gateway
    completion, and catalog pages that are not empty."""
    probe = httpx.post(f"{app_url}/v1/chat/completions", headers=gateway, json=body, timeout=60)
    if probe.status_code != 200:
        raise RuntimeError(f"the gateway refused the probe: {probe.status_code} {probe.text}")
    for path in ("/api/v2/models", "/api/v2/deployments"):
        page = httpx.get(f"{app_url}{path}", headers=bearer, timeout=60).json()
        if not page.get("items") or not page.get("total"):
            raise RuntimeError(f"{path} answered an empty catalog: {str(page)[:200]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds per route")
    parser.add_argument(
        "--quiet-logs",
        action="store_true",
        help="LOG_LEVEL=WARNING and no `logs` table (default: production logging, INFO lines "
        "on stdout and in `logs`)",
    )
    parser.add_argument(
        "--cpu-stress",
        action="store_true",
        help="one busy process per core during the measured phases",
    )
    parser.add_argument(
        "--no-job",
        action="store_true",
        help="no certification job at all (to measure what the job costs)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    options = parser.parse_args()
    name = f"myia_bench_load_{uuid.uuid4().hex[:8]}"
    db_url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    sim_port, app_port = free_port(), free_port()
    sim_url, app_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{app_port}"
    env = {**os.environ, **SIM_ENV, "MYIA_MODE": "test", "LOG_TO_DB": "true",
           "DATABASE_URL": db_url, "LOG_LEVEL": "INFO"}  # fmt: skip
    if options.quiet_logs:
        env.update(LOG_TO_DB="false", LOG_LEVEL="WARNING")
    for variable in ("QUEUE_URL", "REDIS_URL"):
        env.pop(variable, None)
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    processes: list[subprocess.Popen[bytes]] = []
    logs = tempfile.TemporaryDirectory()
    try:
        myia(env, "db", "migrate")
        myia(env, "db", "seed")
        sim_log = open(Path(logs.name) / "sim.log", "wb")  # noqa: SIM115
        processes.append(subprocess.Popen(
            [MYIA, "sim", "--scenario", str(bench_scenario(Path(logs.name))), "--port",
             str(sim_port)],
            env=env, cwd=REPO, stdout=sim_log, stderr=subprocess.STDOUT))  # fmt: skip
        wait_http(f"{sim_url}/_sim/health")
        myia(env, "providers", "set-url", "bedrock", sim_url, "--simulated")
        for slug in ("openai", "groq", "together"):
            myia(env, "providers", "set-url", slug, f"{sim_url}/{slug}/v1", "--simulated")
        myia(env, "models", "discover", "--provider", "bedrock", "--region", "us-east-1")
        myia(env, "certify", "--provider", "groq")  # a certified route for the gateway
        email = "load@example.com"
        myia(env, "users", "create", "--email", email, "--password-stdin", stdin=PASSWORD + "\n")
        key = asyncio.run(api_key(db_url, email))

        app_log = open(Path(logs.name) / "serve.log", "wb")  # noqa: SIM115
        server = subprocess.Popen([MYIA, "serve", "--port", str(app_port)], env=env, cwd=REPO,
                                  stdout=app_log, stderr=subprocess.STDOUT)  # fmt: skip
        processes.append(server)
        wait_http(f"{app_url}/api/health")
        login = {"email": email, "password": PASSWORD}
        token = httpx.post(f"{app_url}/api/auth/login", json=login).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        gateway = {"Authorization": f"Bearer {key}"}
        body = {"model": GATEWAY_MODEL, "max_tokens": 32,
                "messages": [{"role": "user", "content": "Say hello in five words."}]}  # fmt: skip
        check_answers(app_url, bearer=bearer, gateway=gateway, body=body)

        chat_body = json.dumps(body).encode()
        chat_headers = {**gateway, "Content-Type": "application/json"}

        def catalog(n: int, i: int) -> Request:
            path = "/api/v2/models" if (n + i) % 2 else "/api/v2/deployments"
            return "GET", path, bearer, b""

        def chat(n: int, i: int) -> Request:
            return "POST", "/v1/chat/completions", chat_headers, chat_body

        # Warm-up with the measured concurrency and a certification job, then the memory
        # baseline: a process's RSS grows to its working set at 64 clients (connections,
        # buffers, pool) once; only growth past that is a leak. A 3 s warm-up at 8 clients
        # counted that first growth as +20 %.
        if not options.no_job:
            myia(env, "certify", "--all", "--no-wait")
        run_phase(app_url, options.clients, options.warmup, catalog)
        run_phase(app_url, options.clients, options.warmup, chat)
        rss_start = {"serve": rss_kb(server.pid), "sim": rss_kb(processes[0].pid)}
        if not options.no_job:
            myia(env, "certify", "--all", "--no-wait")
        with cpu_stress(options.cpu_stress):
            catalog_figures = measured_phase(server.pid, db_url, app_url, options, catalog)
            gateway_figures = measured_phase(server.pid, db_url, app_url, options, chat)
        rss_end = {"serve": rss_kb(server.pid), "sim": rss_kb(processes[0].pid)}
        stats = httpx.get(f"{app_url}/api/health", timeout=30).json()
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        logs.cleanup()

    growth = {p: round(100 * (rss_end[p] - rss_start[p]) / rss_start[p], 1) for p in rss_start}
    errors = catalog_figures["errors"] + gateway_figures["errors"]
    results: dict[str, Any] = {
        "errors": errors,
        "catalog_p99_ms_c64": catalog_figures["p99_ms"],
        "rss_growth_pct": max(growth.values()),
        "clients": options.clients,
        "seconds_per_phase": options.seconds,
        "warmup_seconds_per_route": options.warmup,
        "log_to_db": not options.quiet_logs,
        "certification_job_during_phases": not options.no_job,
        "cpu_stress": options.cpu_stress,
        "catalog": catalog_figures,
        "gateway": gateway_figures,
        "rss_kb_start": rss_start,
        "rss_kb_end": rss_end,
        "rss_growth_pct_by_process": growth,
        "health_at_end": stats.get("status"),
        "targets": {"errors": 0, "catalog_p99_ms_c64": 100.0, "rss_growth_pct": 10.0},
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        },
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    for label, figures in (("catalog", catalog_figures), ("gateway", gateway_figures)):
        print(f"{label:8} c{options.clients}: {figures['requests']} req, "
              f"{figures['throughput_rps']} req/s, p50 {figures['p50_ms']} ms, "
              f"p99 {figures['p99_ms']} ms, errors {figures['errors']}")  # fmt: skip
    print(f"RSS growth: {growth} %")


if __name__ == "__main__":
    main()
