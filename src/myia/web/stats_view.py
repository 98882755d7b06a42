"""Figures for /admin/stats, computed from the certifications service's rows."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from myia.catalog.filters import MAX_PAGE_SIZE
from myia.certification.queries import list_certifications
from myia.certification.schemas import CertificationFilters, CertificationPublic
from myia.certification.scoring import Badge


@dataclass(frozen=True)
class Stats:
    total: int
    by_badge: list[tuple[str, float]]
    pass_rate_vendor: list[tuple[str, float]]
    pass_rate_region: list[tuple[str, float]]
    latency_vendor: list[tuple[str, float]]
    certified: int
    expired: int


async def _all(session: AsyncSession) -> list[CertificationPublic]:
    rows: list[CertificationPublic] = []
    page = 1
    while True:
        found = await list_certifications(
            session=session, filters=CertificationFilters(page=page, page_size=MAX_PAGE_SIZE)
        )
        rows += found.items
        if page * MAX_PAGE_SIZE >= found.total:
            return rows
        page += 1


def _pass_rate(rows: list[CertificationPublic], key: str) -> list[tuple[str, float]]:
    """Tests passed ÷ tests run, per group: a rate over tests, not over certifications."""
    passed: dict[str, int] = defaultdict(int)
    run: dict[str, int] = defaultdict(int)
    for row in rows:
        group = str(getattr(row, key))
        passed[group] += row.tests_passed
        run[group] += row.tests_passed + row.tests_failed
    return sorted(((g, 100 * passed[g] / run[g]) for g in run if run[g]), key=lambda item: -item[1])


async def certification_stats(*, session: AsyncSession) -> Stats:
    rows = await _all(session)
    badges = {b.value: 0 for b in Badge}
    for row in rows:
        if row.badge in badges:
            badges[row.badge] += 1
    latencies: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if row.avg_latency_ms is not None:
            latencies[row.vendor].append(row.avg_latency_ms)
    return Stats(
        total=len(rows),
        by_badge=[(name, float(count)) for name, count in badges.items()],
        pass_rate_vendor=_pass_rate(rows, "vendor"),
        pass_rate_region=_pass_rate(rows, "region"),
        latency_vendor=sorted(
            ((v, sum(ms) / len(ms)) for v, ms in latencies.items()), key=lambda item: item[1]
        ),
        certified=sum(r.status.value == "CERTIFIED" for r in rows),
        expired=sum(r.expired for r in rows),
    )
