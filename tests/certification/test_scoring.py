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


def test_latency_score_is_linear_between_one_and_ten_seconds() -> None:
    assert latency_score(None) == 0.0
    assert latency_score(200) == 1.0
    assert latency_score(5_500) == 0.5
    assert latency_score(12_000) == 0.0


def test_everything_passing_fast_is_premium_and_certified() -> None:
    s = score(passed=8, executed=8, suite_size=8, avg_latency_ms=300, core_passed=True)
    assert (s.rating, s.badge, s.status) == (5.0, Badge.PREMIUM, CertificationStatus.CERTIFIED)


def test_worked_example_of_the_docs() -> None:
    # 6 of 7 executed tests pass (vision claimed but failing), suite of 8, 2.8 s average.
    s = score(passed=6, executed=7, suite_size=8, avg_latency_ms=2_800, core_passed=True)
    # 5 × (0.6 × 0.857 + 0.25 × 0.8 + 0.15 × 0.875) = 4.23 → 4.2
    assert s.rating == 4.2
    assert s.badge is Badge.RECOMMENDED
    assert s.status is CertificationStatus.QUALITY_WARNING


def test_a_failing_core_test_fails_the_deployment_whatever_the_rating() -> None:
    s = score(passed=7, executed=8, suite_size=8, avg_latency_ms=100, core_passed=False)
    assert s.rating > 4
    assert (s.badge, s.status) == (Badge.FAILED, CertificationStatus.FAILED)


def test_nothing_executed_scores_zero() -> None:
    s = score(passed=0, executed=0, suite_size=8, avg_latency_ms=None, core_passed=True)
    assert s.rating == 0.0
    assert s.badge is Badge.FAILED
