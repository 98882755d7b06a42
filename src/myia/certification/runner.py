"""Run the suite against one deployment in one region and turn it into a result.

"Not available in region", "access denied", bad credentials and exhausted quota end the run
early and become the result's error category; they are findings about the deployment, not
crashes. A throttle never reaches here (see `probe.py`), and neither does a transient error
until the probe's retry budget is spent: then the sample is *inconclusive*.

Stable verdicts: a check that passes first time is passed; one that fails (a wrong answer or
a non-retryable error) is asked again, up to `samples` times, and the majority decides.
Inconclusive samples vote for neither side; a test with no majority is inconclusive. An
inconclusive *core* test leaves nothing to certify: the suite raises `TransientOut` so the
queue runs the item again later, without charging an attempt.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from myia.certification.probe import Probe, ThrottledOut, TransientOut
from myia.certification.samples import percentile
from myia.certification.scoring import Score, failed_score, score
from myia.certification.suite import CertTest, build_suite
from myia.providers.errors import ErrorCategory, ProviderError

DEFAULT_SAMPLES = 3
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

Verdict = Literal["passed", "failed", "inconclusive"]


def is_fatal(exc: ProviderError) -> bool:
    return exc.category in FATAL or exc.reason in FATAL_REASONS


@dataclass
class Sample:
    status: Verdict
    detail: str
    error_category: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class TestResult:
    name: str
    capability: str | None
    status: str  # passed | failed | inconclusive | skipped
    detail: str
    latency_ms: float | None = None
    error_category: str | None = None
    time_to_first_token_ms: float | None = None
    samples: list[dict[str, Any]] = field(default_factory=list)
    figures: dict[str, Any] | None = None
    # False for a measured-only test (`CertTest.scored`): it records a capability for
    # routing, but neither the score, the counts nor the mismatches see it.
    scored: bool = True

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @property
    def definite(self) -> bool:
        return self.status in ("passed", "failed")


@dataclass
class SuiteOutcome:
    results: list[TestResult]
    score: Score
    error: ProviderError | None = None
    # capability → True (passed), False (failed) or None (inconclusive) in this region.
    capabilities_seen: dict[str, bool | None] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)
    throttled: int = 0
    transient: int = 0
    duration_ms: int = 0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    ttft_p50_ms: float | None = None
    calls: int = 0
    # Why there is no verdict (status INCONCLUSIVE: transient errors outlasted every retry).
    undecided: str | None = None

    @property
    def passed(self) -> int:
        return sum(r.status == "passed" for r in self.results if r.scored)

    @property
    def failed(self) -> int:
        return sum(r.status == "failed" for r in self.results if r.scored)

    @property
    def inconclusive(self) -> list[str]:
        return [r.name for r in self.results if r.status == "inconclusive"]

    @property
    def avg_latency_ms(self) -> int | None:
        return round(self.latency_p50_ms) if self.latency_p50_ms is not None else None

    @property
    def figures(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for result in self.results:
            merged.update(result.figures or {})
        return merged

    @property
    def failure_reasons(self) -> list[str]:
        reasons = [
            f"{r.name}: {r.detail}" for r in self.results if r.status == "failed" and r.scored
        ]
        if self.mismatches:
            reasons.insert(0, "capability mismatch: " + ", ".join(self.mismatches))
        if self.error is not None:
            reasons.insert(0, f"{self.error.category.value}: {self.error.message}")
        if self.undecided is not None:
            reasons.insert(0, self.undecided)
        return reasons


async def _sample(test: CertTest, probe: Probe, rng: random.Random) -> tuple[Sample, Any]:
    try:
        check = await test.run(probe, rng)
    except TransientOut as exc:
        category = exc.error.category.value if exc.error else None
        return Sample("inconclusive", str(exc), category), None
    except ThrottledOut:
        raise
    except ProviderError as exc:
        if is_fatal(exc):
            raise
        return Sample("failed", exc.message, exc.category.value), None
    return Sample("passed" if check.passed else "failed", check.detail), check


def decide(votes: list[Verdict], samples: int) -> Verdict | None:
    """The verdict of the samples so far, or None while more are needed.

    A first clean pass decides at once; after any failure a majority of `samples` is needed.
    """
    passes, fails = votes.count("passed"), votes.count("failed")
    need = samples // 2 + 1 if fails else 1
    if passes >= need:
        return "passed"
    if fails >= samples // 2 + 1:
        return "failed"
    if len(votes) >= samples:
        return "inconclusive"
    return None


async def _run_test(test: CertTest, probe: Probe, rng: random.Random, samples: int) -> TestResult:
    asked = max(1, test.samples or samples)
    first_call = len(probe.calls)
    taken: list[Sample] = []
    checks: list[Any] = []
    verdict: Verdict | None = None
    while verdict is None:
        sample, check = await _sample(test, probe, rng)
        taken.append(sample)
        checks.append(check)
        verdict = decide([s.status for s in taken], asked)
    # Report the sample that carries the verdict (the last one of its kind).
    index = max(i for i, s in enumerate(taken) if s.status == verdict or verdict == "inconclusive")
    chosen, check = taken[index], checks[index]
    timings = probe.calls[first_call:]
    return TestResult(
        test.name,
        test.capability,
        verdict,
        chosen.detail,
        round(sum(t.latency_ms for t in timings), 1) if timings else None,
        chosen.error_category,
        check.time_to_first_token_ms if check is not None else None,
        [s.as_dict() for s in taken],
        check.figures if check is not None else None,
        test.scored,
    )


async def run_suite(
    probe: Probe,
    *,
    claimed: dict[str, bool],
    suite: tuple[CertTest, ...] | None = None,
    seed: int | None = None,
    deep: bool = False,
    samples: int = DEFAULT_SAMPLES,
) -> SuiteOutcome:
    """Run every core test and every test of a claimed capability; skip the rest."""
    tests = suite if suite is not None else build_suite(deep=deep)
    rng = random.Random(seed)
    probe.jitter = random.Random(None if seed is None else seed + 1)
    started = time.perf_counter()
    results: list[TestResult] = []

    def outcome(result_score: Score, **extra: Any) -> SuiteOutcome:
        latencies = [c.latency_ms for c in probe.calls]
        ttfts = [c.time_to_first_token_ms for c in probe.calls if c.time_to_first_token_ms]
        return SuiteOutcome(
            results,
            result_score,
            throttled=probe.throttled,
            transient=probe.transient,
            duration_ms=round((time.perf_counter() - started) * 1000),
            latency_p50_ms=percentile(latencies, 50),
            latency_p95_ms=percentile(latencies, 95),
            ttft_p50_ms=percentile(ttfts, 50),
            calls=len(probe.calls),
            **extra,
        )

    for test in tests:
        if test.capability is not None and not claimed.get(test.claim or test.capability, False):
            results.append(
                TestResult(test.name, test.capability, "skipped", "not claimed", scored=test.scored)
            )
            continue
        try:
            result = await _run_test(test, probe, rng, samples)
        except ProviderError as exc:
            return outcome(failed_score(), error=exc)
        results.append(result)
        if result.capability is None and result.status == "inconclusive":
            raise TransientOut(f"core test {result.name} inconclusive: {result.detail}")
    measured = [r for r in results if r.status != "skipped"]
    run = [r for r in measured if r.scored]
    definite = [r for r in run if r.definite]
    partial = outcome(failed_score())
    seen: dict[str, bool | None] = {
        r.capability: (r.status == "passed" if r.definite else None)
        for r in measured
        if r.capability is not None
    }
    scored = {r.capability for r in run}
    return outcome(
        score(
            passed=sum(r.status == "passed" for r in definite),
            executed=len(definite),
            attempted=len(run),
            suite_size=sum(t.scored for t in tests),
            latency_p50_ms=partial.latency_p50_ms,
            latency_p95_ms=partial.latency_p95_ms,
            core_passed=all(r.status == "passed" for r in run if r.capability is None),
        ),
        capabilities_seen=seen,
        mismatches=sorted(cap for cap, ok in seen.items() if ok is False and cap in scored),
    )
