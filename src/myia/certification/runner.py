"""Run the suite against one deployment in one region and turn it into a result.

"Not available in region", "access denied", bad credentials and exhausted quota end the run
early and become the result's error category; they are findings about the deployment, not
crashes. A throttle never reaches here as a failure (see `probe.py`).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from myia.certification.probe import Probe
from myia.certification.scoring import Badge, Score, score
from myia.certification.suite import DEFAULT_SUITE, CertTest
from myia.db.enums import CertificationStatus
from myia.providers.errors import ErrorCategory, ProviderError

# Errors that say the deployment cannot be used here at all: no point running more tests.
FATAL = frozenset(
    {
        ErrorCategory.AUTH,
        ErrorCategory.ACCESS_DENIED,
        ErrorCategory.NOT_AVAILABLE_IN_REGION,
        ErrorCategory.QUOTA,
    }
)
# Refinements that make every further call fail the same way (see ProviderError.reason).
FATAL_REASONS = frozenset({"end_of_life", "inference_profile_required"})


def is_fatal(exc: ProviderError) -> bool:
    return exc.category in FATAL or exc.reason in FATAL_REASONS


@dataclass
class TestResult:
    name: str
    capability: str | None
    status: str  # passed | failed | skipped
    detail: str
    latency_ms: float | None = None
    error_category: str | None = None
    time_to_first_token_ms: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class SuiteOutcome:
    results: list[TestResult]
    score: Score
    error: ProviderError | None = None
    capabilities_seen: dict[str, bool] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)
    throttled: int = 0
    duration_ms: int = 0

    @property
    def passed(self) -> int:
        return sum(r.status == "passed" for r in self.results)

    @property
    def failed(self) -> int:
        return sum(r.status == "failed" for r in self.results)

    @property
    def avg_latency_ms(self) -> int | None:
        values = [r.latency_ms for r in self.results if r.latency_ms is not None]
        return round(sum(values) / len(values)) if values else None

    @property
    def failure_reasons(self) -> list[str]:
        reasons = [f"{r.name}: {r.detail}" for r in self.results if r.status == "failed"]
        if self.mismatches:
            reasons.insert(0, "capability mismatch: " + ", ".join(self.mismatches))
        if self.error is not None:
            reasons.insert(0, f"{self.error.category.value}: {self.error.message}")
        return reasons


def _fatal_score() -> Score:
    return Score(0.0, 0.0, 0.0, 0.0, Badge.FAILED, CertificationStatus.FAILED)


async def _run_one(test: CertTest, probe: Probe, rng: random.Random) -> TestResult:
    started = time.perf_counter()
    try:
        check = await test.run(probe, rng)
    except ProviderError as exc:
        if is_fatal(exc):
            raise
        elapsed = round((time.perf_counter() - started) * 1000, 1)
        return TestResult(
            test.name, test.capability, "failed", exc.message, elapsed, exc.category.value
        )
    elapsed = round((time.perf_counter() - started) * 1000, 1)
    return TestResult(
        test.name,
        test.capability,
        "passed" if check.passed else "failed",
        check.detail,
        elapsed,
        None,
        check.time_to_first_token_ms,
    )


async def run_suite(
    probe: Probe,
    *,
    claimed: dict[str, bool],
    suite: tuple[CertTest, ...] = DEFAULT_SUITE,
    seed: int | None = None,
) -> SuiteOutcome:
    """Run every core test and every test of a claimed capability; skip the rest."""
    rng = random.Random(seed)
    started = time.perf_counter()
    results: list[TestResult] = []
    for test in suite:
        if test.capability is not None and not claimed.get(test.capability, False):
            results.append(TestResult(test.name, test.capability, "skipped", "not claimed"))
            continue
        try:
            results.append(await _run_one(test, probe, rng))
        except ProviderError as exc:
            return SuiteOutcome(
                results,
                _fatal_score(),
                error=exc,
                throttled=probe.throttled,
                duration_ms=round((time.perf_counter() - started) * 1000),
            )
    executed = [r for r in results if r.status != "skipped"]
    passed = sum(r.status == "passed" for r in executed)
    core_passed = all(r.status == "passed" for r in executed if r.capability is None)
    latencies = [r.latency_ms for r in executed if r.latency_ms is not None]
    outcome_score = score(
        passed=passed,
        executed=len(executed),
        suite_size=len(suite),
        avg_latency_ms=sum(latencies) / len(latencies) if latencies else None,
        core_passed=core_passed,
    )
    seen = {r.capability: r.status == "passed" for r in executed if r.capability is not None}
    mismatches = sorted(cap for cap, ok in seen.items() if not ok)
    return SuiteOutcome(
        results,
        outcome_score,
        capabilities_seen=seen,
        mismatches=mismatches,
        throttled=probe.throttled,
        duration_ms=round((time.perf_counter() - started) * 1000),
    )
