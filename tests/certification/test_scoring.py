"""The scoring formula: bands, core failures, mismatches, latency."""

from __future__ import annotations

import pytest

from myia.certification.scoring import Badge, badge_for, latency_score, score
from myia.db.enums import CertificationStatus


@pytest.mark.parametrize(
    ("rating", "badge"),
    [
        (5.0, Badge.PREMIUM),
        (4.5, Badge.PREMIUM),
        (4.4, Badge.RECOMMENDED),
        (3.5, Badge.RECOMMENDED),
        (2.5, Badge.FUNCTIONAL),
        (1.5, Badge.LIMITED),
        (0.5, Badge.UNSTABLE),
        (0.4, Badge.FAILED),
        (0.0, Badge.FAILED),
    ],
)
def test_badge_bands(rating: float, badge: Badge) -> None:
    assert badge_for(rating) is badge


def test_latency_score_uses_p50_and_p95() -> None:
    assert latency_score(None) == 0.0
    assert latency_score(200, 400) == 1.0
    # p50 halfway between 1 s and 10 s, p95 at its 2 s floor: ½ × 0.5 + ½ × 1.
    assert latency_score(5_500, 2_000) == 0.75
    assert latency_score(12_000, 25_000) == 0.0


def test_everything_passing_fast_is_premium_and_certified() -> None:
    s = score(passed=8, executed=8, suite_size=8, latency_p50_ms=300, core_passed=True)
    assert (s.rating, s.badge, s.status) == (5.0, Badge.PREMIUM, CertificationStatus.CERTIFIED)
    assert s.partial_rating == s.rating


@pytest.mark.parametrize(
    ("passed", "executed", "attempted", "core", "rating", "partial", "badge", "status"),
    [
        (6, 6, 6, True, 4.5, 4.5, Badge.PREMIUM, CertificationStatus.CERTIFIED),
        (5, 6, 6, True, 3.4, 4.0, Badge.FUNCTIONAL, CertificationStatus.QUALITY_WARNING),
        (5, 6, 6, False, 0.0, 4.0, Badge.FAILED, CertificationStatus.FAILED),
        (5, 5, 6, True, 4.5, 4.5, Badge.PREMIUM, CertificationStatus.CERTIFIED),
    ],
)
def test_worked_example_of_the_docs(
    passed: int,
    executed: int,
    attempted: int,
    core: bool,
    rating: float,
    partial: float,
    badge: Badge,
    status: CertificationStatus,
) -> None:
    # Streaming and tools claimed: 6 of 8 tests run; p50 2.8 s (0.80), p95 6.5 s (0.75).
    s = score(
        passed=passed,
        executed=executed,
        attempted=attempted,
        suite_size=8,
        latency_p50_ms=2_800,
        latency_p95_ms=6_500,
        core_passed=core,
    )
    assert s.latency_score == 0.775
    assert (s.rating, s.partial_rating, s.badge, s.status) == (rating, partial, badge, status)


def test_premium_and_recommended_require_certified() -> None:
    s = score(passed=7, executed=8, suite_size=8, latency_p50_ms=100, core_passed=True)
    assert s.status is CertificationStatus.QUALITY_WARNING
    assert s.badge not in (Badge.PREMIUM, Badge.RECOMMENDED)
    assert s.partial_rating > 4


def test_a_failing_core_test_fails_the_deployment_with_rating_zero() -> None:
    s = score(passed=7, executed=8, suite_size=8, latency_p50_ms=100, core_passed=False)
    assert s.rating == 0.0
    assert s.partial_rating > 4
    assert (s.badge, s.status) == (Badge.FAILED, CertificationStatus.FAILED)


def test_inconclusive_tests_count_for_coverage_not_success() -> None:
    certain = score(passed=8, executed=8, suite_size=8, latency_p50_ms=0, core_passed=True)
    one_unsure = score(
        passed=7, executed=7, attempted=8, suite_size=8, latency_p50_ms=0, core_passed=True
    )
    assert (one_unsure.rating, one_unsure.badge) == (certain.rating, certain.badge)
    assert one_unsure.status is CertificationStatus.CERTIFIED


def test_nothing_executed_scores_zero() -> None:
    s = score(passed=0, executed=0, suite_size=8, latency_p50_ms=None, core_passed=True)
    assert s.rating == 0.0
    assert s.badge is Badge.FAILED
