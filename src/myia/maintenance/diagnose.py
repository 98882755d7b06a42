"""`myia db diagnose`: what state is the database in, and what to run next (seed 000, step 1)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select, table

from myia.db.engine import Database
from myia.db.migrate import head_revision
from myia.maintenance.connection import (
    DatabaseUnavailableError,
    check_connection,
    mask_url,
    missing_sqlite_file,
)
from myia.maintenance.schema import SchemaState, expected_tables, schema_state

# Tables whose emptiness decides which step of the runbook comes next.
_CATALOG_TABLES = ("providers", "base_models", "model_deployments")


@dataclass(frozen=True)
class Recommendation:
    title: str
    command: str
    detail: str
    required: bool = False


@dataclass
class DiagnosisReport:
    url: str
    backend: str
    connected: bool
    error: str | None = None
    note: str | None = None
    expected_tables: list[str] = field(default_factory=list)
    found_tables: list[str] = field(default_factory=list)
    missing_tables: list[str] = field(default_factory=list)
    extra_tables: list[str] = field(default_factory=list)
    current_revision: str | None = None
    head_revision: str = ""
    row_counts: dict[str, int] = field(default_factory=dict)
    recommendations: list[Recommendation] = field(default_factory=list)
    summary: str = ""

    @property
    def at_head(self) -> bool:
        return self.current_revision == self.head_revision

    @property
    def empty_tables(self) -> list[str]:
        return [name for name, rows in self.row_counts.items() if rows == 0]

    @property
    def filled_tables(self) -> list[str]:
        return [name for name, rows in self.row_counts.items() if rows > 0]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            tables_found=len(self.found_tables),
            tables_expected=len(self.expected_tables),
            at_head=self.at_head,
            empty_tables=self.empty_tables,
        )
        return data


async def count_rows(database: Database, names: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with database.engine.connect() as connection:
        for name in names:
            result = await connection.execute(select(func.count()).select_from(table(name)))
            counts[name] = int(result.scalar_one())
    return counts


def _schema_advice(state: SchemaState) -> tuple[list[Recommendation], str]:
    migrate = Recommendation(
        "Migrate the schema",
        "myia db migrate",
        f"creates the {len(state.missing)} missing table(s) and brings the schema to revision "
        f"{state.head}",
        required=True,
    )
    if state.revision is None and not state.found:
        return [migrate], "The database has no schema yet: run the migrations first"
    if state.revision is not None and not state.at_head:
        return [migrate], f"Schema at revision {state.revision}, head is {state.head}: migrate"
    # At head (or unversioned) with tables missing: the migrations cannot recreate tables
    # they believe exist, so only a rebuild helps.
    damaged = Recommendation(
        "Rebuild the schema",
        "myia db reset",
        f"{len(state.missing)} table(s) missing although Alembic reports revision "
        f"{state.revision or 'none'}; `myia db migrate` cannot recreate them. Reset backs up "
        "first, then rebuilds an empty schema; restore data with `myia db restore` if needed",
        required=True,
    )
    return [damaged], "The schema is damaged: tables are missing outside the migrations"


def _data_advice(counts: dict[str, int]) -> tuple[list[Recommendation], str]:
    advice: list[Recommendation] = []
    catalog_empty = any(counts.get(name, 0) == 0 for name in _CATALOG_TABLES)
    if catalog_empty:
        advice.append(
            Recommendation(
                "Basic seed",
                "myia db seed",
                "providers openai/groq/together/bedrock and the six basic models with prices",
                required=True,
            )
        )
    if counts.get("users", 0) == 0:
        advice.append(
            Recommendation(
                "Demo users and chats",
                "myia db seed --demo",
                "users leo@leo.com / leoleo and admin 123@123.com / 123123, three sample chats",
            )
        )
    advice.append(
        Recommendation(
            "Add AWS Bedrock models",
            "myia models discover --provider bedrock --region us-east-1",
            "lists the provider's models and writes new base models and deployments "
            "(needs AWS credentials)",
        )
    )
    if counts.get("model_certifications", 0) == 0:
        advice.append(
            Recommendation(
                "Certify models",
                "myia certify --all",
                "tests every deployment per region and fills model_certifications",
            )
        )
    if all(rows == 0 for rows in counts.values()):
        summary = "The database is empty: run the seed first"
    elif catalog_empty:
        summary = "The catalog is empty: run the seed"
    else:
        summary = "The database is ready"
    return advice, summary


async def diagnose(*, database: Database) -> DiagnosisReport:
    """Connection, schema (tables x/N, revision vs head), row counts and next steps.

    Never raises for an unreachable database: the report says so (`connected=False`), so
    callers such as a health page can show it.
    """
    report = DiagnosisReport(
        url=mask_url(database.url),
        backend=database.dialect,
        connected=False,
        expected_tables=expected_tables(),
        missing_tables=expected_tables(),
        head_revision=head_revision(),
    )
    missing_file = missing_sqlite_file(database.url)
    if missing_file is not None:
        # Connecting would create the file; a diagnosis should not change anything.
        report.connected = True
        report.note = f"the SQLite file {missing_file} does not exist yet (migrate creates it)"
        report.recommendations, report.summary = _schema_advice(
            SchemaState([], expected_tables(), [], None, report.head_revision)
        )
        return report
    try:
        await check_connection(database)
    except DatabaseUnavailableError as exc:
        report.error = str(exc)
        report.summary = "Cannot connect to the database"
        return report
    report.connected = True
    state = await schema_state(database)
    report.found_tables = state.found
    report.missing_tables = state.missing
    report.extra_tables = state.extra
    report.current_revision = state.revision
    report.row_counts = await count_rows(database, state.found)
    if state.complete:
        report.recommendations, report.summary = _data_advice(report.row_counts)
    else:
        report.recommendations, report.summary = _schema_advice(state)
    return report
