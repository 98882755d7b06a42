"""The catalog bench's dataset, loaded into another bench's database.

bench/catalog_read.py builds the rows (`build_rows(FULL, …)`: 2,000 base models, 10,000
deployments over 6 providers, 60,000 certifications); this inserts them in chunks, beside
whatever the database already holds, and refreshes the planner's statistics. Used by
bench/gateway_overhead.py (`--catalogs big`) to show what a large catalog costs the gateway.
"""

from __future__ import annotations

import random
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
