"""The certification formula: success rate, latency and coverage → rating, badge, status.

rating = 5 × (0.60 × success_rate + 0.25 × latency_score + 0.15 × coverage), one decimal.

- success_rate: passed ÷ executed tests (skipped tests don't count either way).
- latency_score: 1 at or below 1 s average latency, falling linearly to 0 at 10 s.
- coverage: executed ÷ tests in the suite — a deployment claiming fewer capabilities is
  proven on less and scores lower (claiming none: at most 4.6, the bottom of PREMIUM).

Badges by rating: PREMIUM ≥ 4.5, RECOMMENDED ≥ 3.5, FUNCTIONAL ≥ 2.5, LIMITED ≥ 1.5,
UNSTABLE ≥ 0.5, else FAILED. A deployment whose core tests (those needing no capability)
do not all pass is FAILED whatever its rating: it cannot be trusted with plain chat.
Status: CERTIFIED when every executed test passed; QUALITY_WARNING when the core passed but a
claimed capability failed (a capability mismatch); FAILED otherwise.
docs/certification.md works one example through.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from myia.db.enums import CertificationStatus

WEIGHT_SUCCESS = 0.60
WEIGHT_LATENCY = 0.25
WEIGHT_COVERAGE = 0.15
FAST_MS = 1_000.0
SLOW_MS = 10_000.0


class Badge(enum.StrEnum):
    PREMIUM = "PREMIUM"
    RECOMMENDED = "RECOMMENDED"
    FUNCTIONAL = "FUNCTIONAL"
    LIMITED = "LIMITED"
    UNSTABLE = "UNSTABLE"
    FAILED = "FAILED"


_BANDS: tuple[tuple[float, Badge], ...] = (
    (4.5, Badge.PREMIUM),
    (3.5, Badge.RECOMMENDED),
    (2.5, Badge.FUNCTIONAL),
    (1.5, Badge.LIMITED),
    (0.5, Badge.UNSTABLE),
)


@dataclass(frozen=True)
class Score:
    success_rate: float
    latency_score: float
    coverage: float
    rating: float
    badge: Badge
    status: CertificationStatus

    def as_dict(self) -> dict[str, float | str]:
        return {
            "success_rate": self.success_rate,
            "latency_score": self.latency_score,
            "coverage": self.coverage,
            "rating": self.rating,
            "badge": self.badge.value,
            "status": self.status.value,
        }


def latency_score(avg_latency_ms: float | None) -> float:
    if avg_latency_ms is None:
        return 0.0
    if avg_latency_ms <= FAST_MS:
        return 1.0
    if avg_latency_ms >= SLOW_MS:
        return 0.0
    return round(1.0 - (avg_latency_ms - FAST_MS) / (SLOW_MS - FAST_MS), 4)


def badge_for(rating: float) -> Badge:
    for floor, badge in _BANDS:
        if rating >= floor:
            return badge
    return Badge.FAILED


def score(
    *,
    passed: int,
    executed: int,
    suite_size: int,
    avg_latency_ms: float | None,
    core_passed: bool,
) -> Score:
    success_rate = passed / executed if executed else 0.0
    lat = latency_score(avg_latency_ms) if executed else 0.0
    coverage = executed / suite_size if suite_size else 0.0
    rating = round(
        5 * (WEIGHT_SUCCESS * success_rate + WEIGHT_LATENCY * lat + WEIGHT_COVERAGE * coverage), 1
    )
    if not core_passed:
        return Score(success_rate, lat, coverage, rating, Badge.FAILED, CertificationStatus.FAILED)
    status = (
        CertificationStatus.CERTIFIED if passed == executed else CertificationStatus.QUALITY_WARNING
    )
    return Score(success_rate, lat, coverage, rating, badge_for(rating), status)
