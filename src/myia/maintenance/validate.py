"""The full-setup check of seed 000 §5.2: database, schema, essential data, queue and workers,
server answering, auth working, main endpoints. Each check is one line of `myia validate`.

Checks never raise: a failure is a result with a detail saying what to run. The HTTP checks
talk to a running server (`myia serve`), as an operator's browser or client would.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from typing import Any

import httpx
from sqlalchemy import func, select

from myia.config import Settings
from myia.db.engine import Database
from myia.db.enums import UserRole
from myia.db.models import BaseModel, ModelDeployment, Provider, User
from myia.maintenance.diagnose import diagnose
from myia.observability.alerts import ping_redis, redis_urls
from myia.queue.heartbeat import stale_after_s, workers

HTTP_TIMEOUT_S = 10.0
MAIN_ENDPOINTS = ("/api/v2/models", "/api/v2/providers", "/api/v2/deployments", "/api/auth/me")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    # A check that could not run for want of input (e.g. no credentials) is not a failure.
    skipped: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def _database_checks(database: Database) -> list[Check]:
    report = await diagnose(database=database)
    if not report.connected:
        detail = f"{report.error or 'cannot connect'} (create the database, check DATABASE_URL)"
        return [
            Check("database", False, detail),
            Check("schema", False, "not checked: no database"),
            Check("essential data", False, "not checked: no database"),
        ]
    checks = [Check("database", True, f"{report.backend} reachable")]
    found, expected = len(report.found_tables), len(report.expected_tables)
    if report.at_head and not report.missing_tables:
        checks.append(
            Check("schema", True, f"{found}/{expected} tables, at {report.head_revision}")
        )
    else:
        checks.append(
            Check(
                "schema",
                False,
                f"{found}/{expected} tables, revision {report.current_revision or 'none'} "
                f"(head {report.head_revision}): run `myia db migrate`",
            )
        )
        checks.append(Check("essential data", False, "not checked: schema incomplete"))
        return checks
    async with database.session() as session:
        counts = {
            "providers": await session.scalar(select(func.count(Provider.id))) or 0,
            "base models": await session.scalar(select(func.count(BaseModel.id))) or 0,
            "deployments": await session.scalar(select(func.count(ModelDeployment.id))) or 0,
            "users": await session.scalar(select(func.count(User.id))) or 0,
        }
        admins = await session.scalar(
            select(func.count(User.id)).where(User.role == UserRole.ADMIN, User.is_active)
        )
    figures = ", ".join(f"{n} {name}" for name, n in counts.items())
    problems = []
    if not (counts["providers"] and counts["base models"] and counts["deployments"]):
        problems.append("no catalog: run `myia db seed`")
    if not admins:
        problems.append("no active admin: run `myia users create --email … --admin`")
    checks.append(
        Check(
            "essential data",
            not problems,
            f"{figures}, {admins or 0} admin(s)"
            + (f" — {'; '.join(problems)}" if problems else ""),
        )
    )
    return checks


async def _queue_check(database: Database, settings: Settings) -> Check:
    url = settings.queue_url or ""
    engine = "redis" if url.startswith("redis") else "postgresql" if url else "embedded"
    errors = [e for e in await asyncio.gather(*(ping_redis(u) for u in redis_urls(settings))) if e]
    if errors:
        return Check("queue", False, f"Redis does not answer PING ({', '.join(errors)})")
    try:
        async with database.session() as session:
            known = await workers(session, stale_after_s=stale_after_s(settings))
    except Exception as exc:
        return Check("queue", False, f"{engine} queue: workers unreadable ({type(exc).__name__})")
    alive = sum(1 for w in known if w["alive"])
    if not alive:
        hint = "`myia worker`" if url else "`myia serve` (embedded workers)"
        return Check("queue", False, f"{engine} queue: no worker alive; start {hint}")
    return Check("queue", True, f"{engine} queue, {alive} worker(s) alive")


def _http_checks(url: str, email: str | None, password: str | None) -> list[Check]:
    base = url.rstrip("/")
    try:
        with httpx.Client(base_url=base, timeout=HTTP_TIMEOUT_S) as client:
            return _with_client(client, base, email, password)
    except httpx.HTTPError as exc:
        detail = f"{base} does not answer ({type(exc).__name__}): start `myia serve`"
        return [
            Check("server", False, detail),
            Check("auth", False, "not checked: no server"),
            Check("endpoints", False, "not checked: no server"),
        ]


def _with_client(
    client: httpx.Client, base: str, email: str | None, password: str | None
) -> list[Check]:
    health = client.get("/api/health")
    status = health.json().get("status") if health.status_code == 200 else None
    checks = [
        Check(
            "server",
            status == "healthy",
            f"GET {base}/api/health → {health.status_code} {status or ''}".rstrip(),
        )
    ]
    anonymous = client.get("/api/auth/me")
    if anonymous.status_code != 401:
        checks.append(
            Check("auth", False, f"/api/auth/me without a token → {anonymous.status_code}, not 401")
        )
        checks.append(Check("endpoints", False, "not checked: auth is not enforced"))
        return checks
    if not (email and password):
        checks.append(Check("auth", True, "enforced (401 without a token); login not tried"))
        checks.append(
            Check(
                "endpoints", True, "skipped: give --email and a password to call them", skipped=True
            )
        )
        return checks
    login = client.post("/api/auth/login", json={"email": email, "password": password})
    if login.status_code != 200:
        checks.append(Check("auth", False, f"login as {email} → {login.status_code}"))
        checks.append(Check("endpoints", False, "not checked: no token"))
        return checks
    checks.append(Check("auth", True, f"enforced, and {email} logs in"))
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    answers = {path: client.get(path, headers=headers).status_code for path in MAIN_ENDPOINTS}
    bad = {path: code for path, code in answers.items() if code != 200}
    detail = (
        f"{len(answers)} answered 200 ({', '.join(answers)})"
        if not bad
        else ", ".join(f"{path} → {code}" for path, code in bad.items())
    )
    checks.append(Check("endpoints", not bad, detail))
    return checks


async def validate_setup(
    *,
    database: Database,
    settings: Settings,
    url: str,
    email: str | None = None,
    password: str | None = None,
) -> list[Check]:
    checks = await _database_checks(database)
    if checks[0].ok:
        checks.append(await _queue_check(database, settings))
    else:
        checks.append(Check("queue", False, "not checked: no database"))
    checks += await asyncio.to_thread(_http_checks, url, email, password)
    return checks
