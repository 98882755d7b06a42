"""Each hostile input of the audit, on SQLite and PostgreSQL: a 4xx naming the problem,
nothing stored, and every catalog list still answering afterwards."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.enums import UserRole
from myia.db.models import BaseModel, ModelDeployment, Provider, User
from tests.factories import bearer_headers, make_small_catalog

LISTS = ("/api/v2/providers", "/api/v2/models", "/api/v2/deployments")


def _deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


@dataclass(frozen=True)
class Hostile:
    name: str
    method: str
    path: str  # {model}, {deployment}, {provider}: ids of the small catalog
    status: int
    names: str  # what the error message must mention
    body: Any = None
    raw: bytes | None = None  # a body sent byte for byte (JSON escapes json.dumps won't make)
    anonymous: bool = False
    headers: dict[str, str] = field(default_factory=dict)


CASES = [
    *(
        Hostile(f"huge page {path}", "GET", f"{path}?page=268007114879492640", 422, "page")
        for path in LISTS
    ),
    Hostile("NUL in a query parameter", "GET", "/api/v2/models?q=a%00b", 422, "NUL"),
    Hostile("NUL in a path id", "GET", "/api/v2/models/ab%00cd", 422, "NUL"),
    Hostile(
        "NUL in a registered name",
        "POST",
        "/api/v2/providers",
        422,
        "NUL",
        body={"slug": "nulprov", "name": "bad\x00name", "auth_type": "api_key"},
    ),
    Hostile(
        "NUL in a user's name",
        "POST",
        "/api/auth/register",
        422,
        "NUL",
        body={"email": "nul@example.com", "password": "long-enough", "name": "a\x00b"},
    ),
    Hostile(
        "lone surrogate in default_params",
        "PUT",
        "/api/v2/models/{model}",
        422,
        "surrogate",
        raw=b'{"default_params": {"stop": "\\ud800"}}',
    ),
    Hostile(
        "lone surrogate in a name",
        "PUT",
        "/api/v2/models/{model}",
        422,
        "surrogate",
        raw=b'{"name": "x\\udfff"}',
    ),
    Hostile(
        "release_date past year 9999 in UTC",
        "PUT",
        "/api/v2/models/{model}",
        422,
        "out of range",
        body={"release_date": "9999-12-31T23:59:59-14:00"},
    ),
    Hostile(
        "release_date before year 1 in UTC",
        "PUT",
        "/api/v2/models/{model}",
        422,
        "out of range",
        body={"release_date": "0001-01-01T00:00:00+14:00"},
    ),
    Hostile(
        "capabilities_verified_at at the edge",
        "PUT",
        "/api/v2/deployments/{deployment}",
        422,
        "out of range",
        body={"capabilities_verified_at": "9999-12-31T23:59:59-14:00"},
    ),
    Hostile(
        "default_params nested 300 deep",
        "PUT",
        "/api/v2/models/{model}",
        422,
        "nested deeper",
        body={"default_params": _deep(300)},
    ),
    Hostile(
        "default_params nested 900 deep",
        "PUT",
        "/api/v2/models/{model}",
        422,
        # Refused either by the JSON parser (RecursionError: "nested too deeply") or by the
        # field's depth check ("nested deeper than 32"): which one depends on how deep the
        # call stack already is when the body is parsed. Both are the 422 this case needs.
        "nested",
        body={"default_params": _deep(900)},
    ),
    Hostile(
        "provider_config nested 300 deep",
        "PUT",
        "/api/v2/deployments/{deployment}",
        422,
        "nested deeper",
        body={"provider_config": _deep(300)},
    ),
    Hostile(
        "a body nested 100000 deep",
        "PUT",
        "/api/v2/models/{model}",
        422,
        "nested",
        raw=b'{"default_params": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_001,
    ),
    Hostile(
        "a 2 MB description",
        "PUT",
        "/api/v2/models/{model}",
        413,
        "too large",
        body={"description": "x" * 2_000_000},
    ),
    Hostile(
        "a 30 000-character description",
        "PUT",
        "/api/v2/models/{model}",
        422,
        "description",
        body={"description": "x" * 30_000},
    ),
    Hostile(
        "an anonymous 5 MB body, refused before the 401",
        "POST",
        "/api/auth/login",
        413,
        "too large",
        raw=b"x" * 5_000_000,
        anonymous=True,
    ),
    Hostile(
        "deprecated: 0",
        "PUT",
        "/api/v2/models/{model}",
        422,
        "deprecated",
        body={"deprecated": 0},
    ),
    Hostile(
        "is_active: 1",
        "PUT",
        "/api/v2/providers/{provider}",
        422,
        "is_active",
        body={"is_active": 1},
    ),
    Hostile(
        "dry_run: 0",
        "POST",
        "/api/certification-queue/clean",
        422,
        "dry_run",
        body={"dry_run": 0},
    ),
    Hostile(
        "a body that is not UTF-8",
        "POST",
        "/api/v2/providers",
        422,
        "JSON",
        raw=b"\xff\xfe\x00garbage",
    ),
]


async def _snapshot(session: AsyncSession) -> dict[str, Any]:
    """Row counts and the editable columns of every catalog row: what a refusal must keep."""
    await session.rollback()  # a fresh view of what other connections committed
    counts = {
        model.__name__: (await session.execute(select(func.count()).select_from(model))).scalar()
        for model in (Provider, BaseModel, ModelDeployment, User)
    }
    models = (await session.execute(select(BaseModel).order_by(BaseModel.id))).scalars()
    deployments = (
        await session.execute(select(ModelDeployment).order_by(ModelDeployment.id))
    ).scalars()
    return {
        "counts": counts,
        "models": [
            (m.name, m.description, m.default_params, m.release_date, m.deprecated) for m in models
        ],
        "deployments": [(d.provider_config, d.capabilities_verified_at) for d in deployments],
    }


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_hostile_input_is_refused_and_nothing_breaks(
    client: httpx.AsyncClient, session: AsyncSession, case: Hostile
) -> None:
    catalog = await make_small_catalog(session)
    admin = await bearer_headers(session, role=UserRole.ADMIN)
    ids = {
        "model": catalog["claude"].id,
        "deployment": catalog["claude@bedrock"].id,
        "provider": catalog["bedrock"].id,
    }
    before = await _snapshot(session)

    headers = {**({} if case.anonymous else admin), **case.headers}
    content = case.raw if case.raw is not None else None
    if case.body is not None:
        content = json.dumps(case.body).encode()
    if content is not None:
        headers["content-type"] = "application/json"
    response = await client.request(
        case.method, case.path.format(**ids), content=content, headers=headers
    )

    assert response.status_code == case.status, response.text[:500]
    body = response.json()
    assert isinstance(body["detail"], str) and isinstance(body["errors"], list)
    assert case.names.lower() in body["detail"].lower(), body
    assert await _snapshot(session) == before
    for path in LISTS:
        listed = await client.get(path, headers=admin)
        assert listed.status_code == 200, (path, listed.text[:300])
