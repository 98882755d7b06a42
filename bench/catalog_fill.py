"""The catalog bench's dataset, loaded into another bench's database.

bench/catalog_read.py builds the rows (`build_rows(FULL, …)`: 2,000 base models, 10,000
deployments over 6 providers, 60,000 certifications); this inserts them in chunks, beside
whatever the database already holds, and refreshes the planner's statistics. Used by
bench/gateway_overhead.py (`--catalogs big`) to show what a large catalog costs the gateway.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import asyncpg
from catalog_read import FULL, build_rows
from sqlalchemy import insert

from myia.db.engine import Database
from myia.db.models import BaseModel, ModelCertification, ModelDeployment, Provider

CHUNK = 5_000
TABLES = [
    (Provider, "providers"),
    (BaseModel, "base_models"),
    (ModelDeployment, "model_deployments"),
    (ModelCertification, "model_certifications"),
]


async def fill_catalog(db_url: str, *, seed: int = 22) -> dict[str, int]:
    """Insert the dataset into `db_url` (a plain `postgresql://` URL); rows per table."""
    rows: dict[str, list[dict[str, Any]]] = build_rows(FULL, random.Random(seed))
    database = Database(db_url)
    try:
        async with database.engine.begin() as connection:
            for table, key in TABLES:
                for start in range(0, len(rows[key]), CHUNK):
                    await connection.execute(insert(table), rows[key][start : start + CHUNK])
    finally:
        await database.dispose()
    connection = await asyncpg.connect(db_url)
    try:
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return {key: len(rows[key]) for _, key in TABLES}


async def seed_certified(session: Any, *, slug: str, auth_type: Any, base_url: str,
                         model_name: str, deployment_id: str, region: str = "global"
                         ) -> None:  # fmt: skip
    """A provider, a base model and one deployment certified (streaming) in `region`: the
    route a gateway bench sends its requests to."""
    from myia.db.enums import CertificationStatus
    from myia.db.types import utcnow

    provider = Provider(slug=slug, name=f"Bench {slug}", auth_type=auth_type, base_url=base_url)
    base = BaseModel(name=model_name, vendor="Bench", capabilities={"streaming": True})
    session.add_all([provider, base])
    await session.flush()
    deployment = ModelDeployment(base_model_id=base.id, provider_id=provider.id,
                                 deployment_id=deployment_id, cost_per_1m_input=1.0,
                                 cost_per_1m_output=2.0)  # fmt: skip
    session.add(deployment)
    await session.flush()
    now = utcnow()
    results = [{"name": "streaming", "capability": "streaming", "status": "passed"}]
    session.add(ModelCertification(
        deployment_id=deployment.id, region=region, status=CertificationStatus.CERTIFIED,
        certified_at=now, expires_at=now + timedelta(days=30), test_results=results,
        rating=4.0, badge="RECOMMENDED"))  # fmt: skip
