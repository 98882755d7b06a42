"""Certification throughput: 120 deployments × 3 regions against the simulator.

The bench's scenario gives every region a request quota and a fixed latency. For each engine
(embedded in-process workers; SAQ on Redis with two `myia worker` processes) it prints the
wall time, the quota floor (the slowest region's admitted calls ÷ its quota: no scheduler can
beat it), their ratio, the throttled calls that were retried, the false failures (every bench
model works, so any non-CERTIFIED result is one) and the speed-up over the seeds' sequential
baseline (one item at a time with a 5 s delay, seed 002), then writes
bench/results/certification_throughput.json as {"embedded": {...}, "saq": {...}}.

`--cpu-stress` runs the same figures while one busy process per core saturates the machine
(keys `embedded_cpu_stress`, `saq_cpu_stress`): contention must slow certification down,
never change a verdict. Every false failure is printed with its deployment, region, test,
error category and detail, and stored in the results.

    .venv/bin/python bench/certification_throughput.py [--engines embedded,saq] [--models 120]
        [--cpu-stress]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from stress import cpu_stress

from myia.certification.selection import JobSelection
from myia.config import Settings
from myia.db.engine import Database
from myia.db.enums import AuthType, CertificationStatus, InferenceType, JobStatus
from myia.db.migrate import upgrade
from myia.db.models import (
    BaseModel,
    CertificationJob,
    CertificationJobItem,
    ModelCertification,
    ModelDeployment,
    Provider,
)
from myia.observability.logging import configure_logging
from myia.queue.factory import build_engine
from myia.queue.service import submit_job
from myia.sim import Scenario, running_simulator

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "certification_throughput.json"
REGIONS = ["us-east-1", "us-west-2", "eu-west-1"]
SEQUENTIAL_DELAY_S = 5.0
console = Console(width=160)


def bench_scenario(models: int, rps: float, burst: int, latency_ms: float) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "bench-throughput",
            "seed": 11,
            "defaults": {"latency": latency_ms, "time_to_first_token": latency_ms / 2},
            "regions": {
                r: {"quota": {"requests_per_second": rps, "burst": burst}} for r in REGIONS
            },
            "models": [
                {
                    "id": f"bench.model-{n:03d}-v1:0",
                    "name": f"Bench Model {n:03d}",
                    "provider": "Bench",
                }
                for n in range(models)
            ],
        }
    )


async def fill_catalog(database: Database, scenario: Scenario, base_url: str) -> None:
    async with database.session() as session:
        provider = Provider(
            slug="bedrock",
            name="AWS Bedrock (simulated)",
            base_url=base_url,
            auth_type=AuthType.AWS_CREDENTIALS,
            is_simulated=True,
        )
        session.add(provider)
        await session.flush()
        for spec in scenario.models:
            base = BaseModel(
                name=spec.display_name,
                vendor="bench",
                capabilities={
                    "streaming": True,
                    "tool_calling": True,
                    "json_output": True,
                    "vision": False,
                },
            )
            session.add(base)
            await session.flush()
            session.add(
                ModelDeployment(
                    base_model_id=base.id,
                    provider_id=provider.id,
                    deployment_id=spec.id,
                    cost_per_1m_input=1.0,
                    cost_per_1m_output=2.0,
                    inference_type=InferenceType.ON_DEMAND,
                )
            )
        await session.commit()


async def wait_job(database: Database, job_id: str, timeout_s: float) -> float:
    started = time.perf_counter()
    async with asyncio.timeout(timeout_s):
        while True:
            async with database.session() as session:
                job = await session.get(CertificationJob, job_id)
                assert job is not None
                if job.status not in (JobStatus.QUEUED, JobStatus.PROCESSING):
                    return time.perf_counter() - started
            await asyncio.sleep(0.2)


async def outcome(database: Database, job_id: str) -> dict[str, int]:
    async with database.session() as session:
        certified = (
            await session.execute(
                select(func.count())
                .select_from(ModelCertification)
                .where(ModelCertification.status == CertificationStatus.CERTIFIED)
            )
        ).scalar_one()
        total = (
            await session.execute(select(func.count()).select_from(ModelCertification))
        ).scalar_one()
        throttled = (
            await session.execute(
                select(func.coalesce(func.sum(CertificationJobItem.throttled), 0)).where(
                    CertificationJobItem.job_id == job_id
                )
            )
        ).scalar_one()
    return {
        "certifications": int(total),
        "certified": int(certified),
        "throttled_items_sum": int(throttled),
    }


async def false_failures(database: Database) -> list[dict[str, Any]]:
    """Every bench model works: each non-CERTIFIED certification is a false failure. One
    entry per failed (or inconclusive) test, else one for the error that ended the run."""
    async with database.session() as session:
        rows = (
            await session.execute(
                select(ModelCertification, ModelDeployment.deployment_id)
                .join(ModelDeployment, ModelDeployment.id == ModelCertification.deployment_id)
                .where(ModelCertification.status != CertificationStatus.CERTIFIED)
            )
        ).all()
    found: list[dict[str, Any]] = []
    for cert, deployment_id in rows:
        where = {"deployment": deployment_id, "region": cert.region, "status": cert.status.value}
        tests = [
            t for t in cert.test_results or [] if t.get("status") in ("failed", "inconclusive")
        ]
        for test in tests:
            found.append(
                {
                    **where,
                    "test": test.get("name"),
                    "error_category": test.get("error_category") or "WRONG_ANSWER",
                    "detail": str(test.get("detail"))[:300],
                    "samples": test.get("samples"),
                }
            )
        if not tests:
            found.append(
                {
                    **where,
                    "test": None,
                    "error_category": cert.error_category,
                    "detail": (cert.last_error or cert.error_message or "")[:300],
                }
            )
    return found


async def absorbed(database: Database) -> dict[str, Any]:
    async with database.session() as session:
        transient, throttled, p50, p95 = (
            await session.execute(
                select(
                    func.coalesce(func.sum(ModelCertification.transient_errors), 0),
                    func.coalesce(func.sum(ModelCertification.throttled_calls), 0),
                    func.avg(ModelCertification.latency_p50_ms),
                    func.max(ModelCertification.latency_p95_ms),
                )
            )
        ).one()
    return {
        "transient_errors_absorbed": int(transient),
        "throttles_absorbed": int(throttled),
        "mean_latency_p50_ms": round(float(p50), 1) if p50 is not None else None,
        "max_latency_p95_ms": round(float(p95), 1) if p95 is not None else None,
    }


async def sequential_item_s(scenario: Scenario, base_url: str, samples: int = 5) -> float:
    """One item's duration when run alone (no contention), for the sequential baseline."""
    from pydantic import SecretStr

    from myia.certification.probe import Probe
    from myia.certification.runner import run_suite
    from myia.providers.connection import AwsCredentials, ProviderConnection
    from myia.providers.registry import get_adapter

    connection = ProviderConnection(
        slug="bedrock",
        auth_type=AuthType.AWS_CREDENTIALS,
        base_url=base_url,
        region=REGIONS[0],
        credentials=AwsCredentials(
            access_key_id=SecretStr("AKIASIMULATOR0000001"),
            secret_access_key=SecretStr("simulated-secret-key-000000"),
        ),
    )
    claimed = {"streaming": True, "tool_calling": True, "json_output": True, "vision": False}
    durations = []
    async with get_adapter(connection) as adapter:
        for n in range(samples):
            await asyncio.sleep(1.0)  # let the region's bucket refill: measure the model alone
            started = time.perf_counter()
            probe = Probe(adapter, scenario.models[n].id, REGIONS[0], InferenceType.ON_DEMAND)
            await run_suite(probe, claimed=claimed)
            durations.append(time.perf_counter() - started)
    return sum(durations) / len(durations)


async def fresh_pg(admin_url: str) -> tuple[str, str]:
    name = f"myia_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return name, admin_url.rsplit("/", 1)[0] + f"/{name}"


async def drop_pg(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


def _env(db_url: str, extra: dict[str, str]) -> dict[str, str]:
    env = {
        **os.environ,
        "MYIA_MODE": "test",
        "DATABASE_URL": db_url,
        "LOG_LEVEL": "WARNING",
        "LOG_TO_DB": "false",
        "AWS_ACCESS_KEY_ID": "AKIASIMULATOR0000001",
        "AWS_SECRET_ACCESS_KEY": "simulated-secret-key-000000",
        **extra,
    }
    return env


async def run_engine(
    engine_name: str, args: argparse.Namespace, scenario: Scenario, base_url: str, sim: Any
) -> dict[str, Any]:
    name, db_url = await fresh_pg(args.pg_url)
    workers: list[subprocess.Popen[bytes]] = []
    extra = {"QUEUE_CONCURRENCY": str(args.concurrency), "RATE_LIMIT_RPS": str(args.start_rps)}
    if engine_name == "saq":
        queue_name = f"bench-{uuid.uuid4().hex[:6]}"
        extra |= {
            "QUEUE_URL": args.redis_url,
            "QUEUE_NAME": queue_name,
            "QUEUE_CONCURRENCY": str(args.concurrency // 2 or 1),
        }
    os.environ.update(_env(db_url, extra))
    settings = Settings()
    try:
        upgrade(db_url)
        database = Database(db_url)
        await fill_catalog(database, scenario, base_url)
        sim.reset_stats()
        engine = build_engine(database, settings)
        if engine_name == "saq":
            log_dir = ROOT / "var" / "bench"
            log_dir.mkdir(parents=True, exist_ok=True)
            for n in range(2):
                # Long-lived worker processes, started once before timing begins.
                workers.append(
                    subprocess.Popen(  # noqa: ASYNC220
                        [sys.executable, "-m", "myia.cli.main", "worker"],
                        env=_env(db_url, extra),
                        stdout=subprocess.DEVNULL,
                        stderr=(log_dir / f"worker-{n}.log").open("w"),
                    )
                )
        await engine.start()
        async with database.session() as session:
            job = await submit_job(
                session=session,
                engine=engine,
                settings=settings,
                selection=JobSelection(all=True, regions=REGIONS),
            )
        wall = await wait_job(database, job.id, timeout_s=args.timeout)
        await engine.stop()
        stats = sim.stats
        result = await outcome(database, job.id)
        failures = await false_failures(database)
        measured = await absorbed(database)
        await database.dispose()
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
        await drop_pg(args.pg_url.replace("postgresql+asyncpg", "postgresql"), name)
    admitted = {r: stats.by_region[r].calls - stats.by_region[r].throttled for r in REGIONS}
    floor = max(admitted.values()) / args.rps
    return {
        "wall_s": round(wall, 2),
        "floor_s": round(floor, 2),
        "ratio_to_floor": round(wall / floor, 3),
        "throttled_retried": sum(stats.by_region[r].throttled for r in REGIONS),
        "false_failures": result["certifications"] - result["certified"],
        "certifications": result["certifications"],
        "admitted_calls_by_region": admitted,
        **measured,
        "false_failure_details": failures,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", default="embedded,saq")
    parser.add_argument("--models", type=int, default=120)
    parser.add_argument("--rps", type=float, default=20.0, help="per-region quota")
    parser.add_argument("--burst", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=40.0)
    parser.add_argument("--concurrency", type=int, default=24)
    parser.add_argument("--start-rps", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument(
        "--cpu-stress", action="store_true", help="one busy process per core while it runs"
    )
    args = parser.parse_args()
    configure_logging("WARNING")

    scenario = bench_scenario(args.models, args.rps, args.burst, args.latency_ms)
    results: dict[str, Any] = {}
    if RESULTS.exists():
        results = json.loads(RESULTS.read_text())
    with running_simulator(scenario) as sim:
        item_s = await sequential_item_s(scenario, sim.base_url)
        items = args.models * len(REGIONS)
        sequential_s = items * (item_s + SEQUENTIAL_DELAY_S)
        suffix = "_cpu_stress" if args.cpu_stress else ""
        for engine_name in [e.strip() for e in args.engines.split(",") if e.strip()]:
            with cpu_stress(args.cpu_stress) as busy:
                figures = await run_engine(engine_name, args, scenario, sim.base_url, sim)
            figures["busy_processes"] = busy
            figures["sequential_baseline_s"] = round(sequential_s, 1)
            figures["speedup_vs_sequential"] = round(sequential_s / figures["wall_s"], 1)
            results[engine_name + suffix] = figures
            for failure in figures["false_failure_details"]:
                console.print(
                    f"[red]false failure[/red] ({engine_name}{suffix}): "
                    f"{failure['deployment']} @ {failure['region']} test={failure['test']} "
                    f"category={failure['error_category']} detail={failure['detail']}",
                    markup=True,
                    highlight=False,
                )

    results["setup"] = {
        "deployments": args.models,
        "regions": REGIONS,
        "quota_rps_per_region": args.rps,
        "burst": args.burst,
        "latency_ms": args.latency_ms,
        "concurrency": args.concurrency,
        "start_rps": args.start_rps,
        "single_item_s": round(item_s, 3),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
    }
    table = Table(
        title=f"certification throughput ({args.models} deployments × {len(REGIONS)} regions)"
    )
    for column in (
        "engine",
        "wall s",
        "floor s",
        "ratio",
        "throttled retried",
        "transient absorbed",
        "p50 ms",
        "false failures",
        "speed-up vs sequential",
    ):
        table.add_column(column, justify="right")
    for key in ("embedded", "saq", "embedded_cpu_stress", "saq_cpu_stress"):
        if key in results:
            r = results[key]
            table.add_row(
                key,
                str(r["wall_s"]),
                str(r["floor_s"]),
                str(r["ratio_to_floor"]),
                str(r["throttled_retried"]),
                str(r.get("transient_errors_absorbed", "—")),
                str(r.get("mean_latency_p50_ms", "—")),
                str(r["false_failures"]),
                f"{r['speedup_vs_sequential']}×",
            )
    console.print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    console.print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    asyncio.run(main())
