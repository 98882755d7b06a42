"""Throwaway servers and processes for the fault tests: a PostgreSQL cluster and a Redis of
the test's own on loopback (never the shared ones: these get stopped and killed), `myia`
processes, and polling helpers with generous deadlines (CI runs on two busy cores)."""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import func, select

from myia.db.engine import Database
from myia.db.enums import JobItemStatus
from myia.db.models import CertificationJobItem, ModelCertification
from tests.conftest import require
from tests.sim_support import free_port

T = TypeVar("T")


async def poll(check: Callable[[], Awaitable[T | None]], *, timeout_s: float, what: str) -> T:
    """`check()` until it returns something truthy; fails naming `what` after the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            found = await check()
        except Exception:  # the part under test may be down: that is what we wait out
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g}s waiting for {what}")
        await asyncio.sleep(0.2)


async def health_status(url: str) -> int | None:
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            return (await client.get(url)).status_code
    except httpx.HTTPError:
        return None


async def wait_health(url: str, code: int, *, timeout_s: float, what: str) -> None:
    async def check() -> bool:
        return await health_status(url) == code

    await poll(check, timeout_s=timeout_s, what=f"{what}: {url} answering {code}")


async def assert_one_row_per_pair(database: Database) -> None:
    """Nothing unfinished, one certification per (deployment, region), no duplicate item."""
    async with database.session() as session:
        open_items = (
            await session.execute(
                select(func.count()).where(
                    CertificationJobItem.status.in_(
                        (JobItemStatus.QUEUED, JobItemStatus.PROCESSING)
                    )
                )
            )
        ).scalar_one()
        pairs = [
            tuple(r)
            for r in await session.execute(
                select(ModelCertification.deployment_id, ModelCertification.region)
            )
        ]
        items = [
            tuple(r)
            for r in await session.execute(
                select(CertificationJobItem.deployment_id, CertificationJobItem.region)
            )
        ]
    assert open_items == 0
    assert len(pairs) == len(set(pairs)), "two certification rows for one (deployment, region)"
    assert len(items) == len(set(items))
    assert set(pairs) == set(items)


# --- a PostgreSQL cluster of the test's own ----------------------------------------------
def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class ThrowawayPostgres:
    """initdb into a temporary directory, served on a free loopback port and a socket in
    that directory. Run as the `postgres` user when the tests run as root (initdb refuses
    root)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="myia-pg-"))
        self.data = self.root / "data"
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = "postgres"
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str, timeout_s: float = 120) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=timeout_s)

    def init(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "pg.log"),
            "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        self._run(
            "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres",
            "-c", f'CREATE DATABASE "{name}"',
        )  # fmt: skip

    def cleanup(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self.stop("immediate")
        except Exception:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    bindir = _pg_bin()
    require("PostgreSQL server binaries (initdb, pg_ctl)", bindir is not None)
    assert bindir is not None
    server = ThrowawayPostgres(bindir)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.cleanup()


def env_for(**values: Any) -> dict[str, str]:
    """A child's environment: `tests.queue.saq_support.child_env` plus these values."""
    from tests.queue.saq_support import child_env

    return child_env(**values)


async def worker_ids(database: Database, count: int, *, timeout_s: float = 60) -> list[str]:
    """Wait until `count` workers beat; their ids."""
    from myia.db.models import WorkerHeartbeat

    async def check() -> list[str] | None:
        async with database.session() as session:
            found = list((await session.execute(select(WorkerHeartbeat.id))).scalars())
        return found if len(found) >= count else None

    return await poll(check, timeout_s=timeout_s, what=f"{count} worker heartbeat(s)")


async def processing(database: Database, job_id: str) -> int:
    async with database.session() as session:
        return int(
            (
                await session.execute(
                    select(func.count()).where(
                        CertificationJobItem.job_id == job_id,
                        CertificationJobItem.status == JobItemStatus.PROCESSING,
                    )
                )
            ).scalar_one()
        )
