"""The certification formula: success rate, latency and coverage → rating, badge, status.

raw = 5 × (0.60 × success_rate + 0.25 × latency_score + 0.15 × coverage), one decimal.

- success_rate: passed ÷ definite tests (passed or failed by a majority of samples;
  skipped and inconclusive tests count neither way).
- latency_score: the model's own latency, per provider call (request sent → last byte, no
  limiter wait or retry sleep): ½ × curve(p50; 1 s → 10 s) + ½ × curve(p95; 2 s → 20 s),
  each curve 1 at or below its first figure, falling linearly to 0 at its second.
- coverage: tests run (not skipped) ÷ tests in the suite — a deployment claiming fewer
  capabilities is proven on less and scores lower (claiming none: at most 4.6).

Status: FAILED when a core test (one needing no capability) failed — it cannot be trusted
with plain chat; CERTIFIED when every definite test passed; QUALITY_WARNING when the core
passed but a claimed capability failed (a capability mismatch).

Rating and badge follow the status, so a reading never contradicts itself:
- CERTIFIED: rating = raw, badge by band (PREMIUM ≥ 4.5, RECOMMENDED ≥ 3.5, FUNCTIONAL ≥ 2.5,
  LIMITED ≥ 1.5, UNSTABLE ≥ 0.5, else FAILED);
- QUALITY_WARNING: PREMIUM and RECOMMENDED require CERTIFIED, so the rating is capped at
  `WARNING_CAP` (3.4, the top of FUNCTIONAL) and the badge follows it;
- FAILED: rating 0 and badge FAILED.
The uncapped figure is kept as `partial_rating`. docs/certification.md works examples.
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
FAST_P95_MS = 2_000.0
SLOW_P95_MS = 20_000.0
WARNING_CAP = 3.4


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
    # The formula's figure before the status caps it (equal to `rating` when CERTIFIED).
    partial_rating: float = 0.0

    def as_dict(self) -> dict[str, float | str]:
        return {
            "success_rate": self.success_rate,
            "latency_score": self.latency_score,
            "coverage": self.coverage,
            "rating": self.rating,
            "partial_rating": self.partial_rating,
            "badge": self.badge.value,
            "status": self.status.value,
        }


def _curve(value_ms: float, fast_ms: float, slow_ms: float) -> float:
    if value_ms <= fast_ms:
        return 1.0
    if value_ms >= slow_ms:
        return 0.0
    return 1.0 - (value_ms - fast_ms) / (slow_ms - fast_ms)


def latency_score(p50_ms: float | None, p95_ms: float | None = None) -> float:
    """0..1 from the median and the 95th percentile call latency (p95 defaults to p50)."""
    if p50_ms is None:
        return 0.0
    p95 = p50_ms if p95_ms is None else p95_ms
    return round(
        0.5 * _curve(p50_ms, FAST_MS, SLOW_MS) + 0.5 * _curve(p95, FAST_P95_MS, SLOW_P95_MS), 4
    )


def badge_for(rating: float) -> Badge:
    for floor, badge in _BANDS:
        if rating >= floor:
            return badge
    return Badge.FAILED


def failed_score(partial_rating: float = 0.0) -> Score:
    return Score(0.0, 0.0, 0.0, 0.0, Badge.FAILED, CertificationStatus.FAILED, partial_rating)


def score(
    *,
    passed: int,
    executed: int,
    suite_size: int,
    latency_p50_ms: float | None,
    core_passed: bool,
    latency_p95_ms: float | None = None,
    attempted: int | None = None,
) -> Score:
    """`executed`: definite tests; `attempted`: tests run at all (default `executed`)."""
    success_rate = passed / executed if executed else 0.0
    lat = latency_score(latency_p50_ms, latency_p95_ms) if executed else 0.0
    ran = executed if attempted is None else attempted
    coverage = ran / suite_size if suite_size else 0.0
    raw = round(
        5 * (WEIGHT_SUCCESS * success_rate + WEIGHT_LATENCY * lat + WEIGHT_COVERAGE * coverage), 1
    )
    if not core_passed or not executed:
        return Score(
            success_rate, lat, coverage, 0.0, Badge.FAILED, CertificationStatus.FAILED, raw
        )
    if passed == executed:
        return Score(
            success_rate, lat, coverage, raw, badge_for(raw), CertificationStatus.CERTIFIED, raw
        )
    capped = min(raw, WARNING_CAP)
    return Score(
        success_rate,
        lat,
        coverage,
        capped,
        badge_for(capped),
        CertificationStatus.QUALITY_WARNING,
        raw,
    )
