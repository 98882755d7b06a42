"""Route selection on an in-memory table: order, exclusions, prices, the uncertified setting."""

from __future__ import annotations

from datetime import timedelta

from myia.db.enums import AuthType, InferenceType
from myia.db.types import utcnow
from myia.routing import CertificationView, Needs, ProviderRef, RouteTable
from myia.routing.resolve import DeploymentEntry, ModelEntry, select_routes, why_no_route

NOW = utcnow()
ALL = frozenset({"streaming", "tool_calling", "vision"})


def cert(
    region: str,
    *,
    status: str = "CERTIFIED",
    passed: frozenset[str] = ALL,
    failed: frozenset[str] = frozenset(),
    expires_in_h: float = 24,
) -> CertificationView:
    return CertificationView(region=region, status=status, badge="RECOMMENDED", rating=4.0,
                             expires_at=NOW + timedelta(hours=expires_in_h), passed=passed,
                             failed=failed)  # fmt: skip


def deployment(
    name: str, price: float | None, *certs: CertificationView, regional: bool = False
) -> DeploymentEntry:
    auth = AuthType.AWS_CREDENTIALS if regional else AuthType.API_KEY
    return DeploymentEntry(
        row_id=f"id-{name}", deployment=name,
        provider=ProviderRef(id=f"p-{name}", slug=name, auth_type=auth, base_url=None),
        inference_type=InferenceType.ON_DEMAND, price_in=price,
        price_out=None if price is None else price * 2, claimed=ALL, certifications=certs,
    )  # fmt: skip


def table(*deployments: DeploymentEntry) -> RouteTable:
    entry = ModelEntry(id="m", name="M", vendor="V", created=0, deployments=deployments)
    return RouteTable(models={"m": entry}, aliases={"m": "m"})


def order(t: RouteTable, **kwargs: object) -> list[tuple[str, str | None, bool]]:
    routes = select_routes(table=t, model="m", needs=kwargs.pop("needs", Needs()), **kwargs)  # type: ignore[arg-type]
    return [(r.deployment, r.region, r.certified) for r in routes]


def test_cheapest_first_and_unpriced_last_never_free() -> None:
    t = table(deployment("free?", None, cert("global")), deployment("dear", 5.0, cert("global")),
              deployment("cheap", 0.5, cert("global")))  # fmt: skip
    assert order(t) == [("cheap", "global", True), ("dear", "global", True),
                        ("free?", "global", True)]  # fmt: skip


def test_preferred_region_first_then_price() -> None:
    t = table(
        deployment("bedrock", 3.0, cert("us-east-1"), cert("eu-west-1"), regional=True),
        deployment("cheap", 0.5, cert("global")),
    )
    assert order(t, preferred_region="eu-west-1")[0] == ("bedrock", "eu-west-1", True)
    assert order(t)[0] == ("cheap", "global", True)
    assert order(t, allowed_regions=frozenset({"us-east-1"})) == [
        ("cheap", "global", True), ("bedrock", "us-east-1", True)]  # fmt: skip


def test_failed_expired_and_incapable_are_never_candidates() -> None:
    t = table(
        deployment("failed", 0.1, cert("global", status="FAILED")),
        deployment("expired", 0.1, cert("global", expires_in_h=-1)),
        deployment(
            "notools",
            0.1,
            cert("global", passed=frozenset({"streaming"}), failed=frozenset({"tool_calling"})),
        ),
        deployment("untested", 0.1, cert("global", passed=frozenset({"streaming"}))),
        deployment("good", 9.0, cert("global")),
    )
    assert order(t, needs=Needs(tools=True)) == [("good", "global", True)]
    assert order(t, needs=Needs(streaming=True))[:2] == [("notools", "global", True),
                                                          ("untested", "global", True)]  # fmt: skip
    message = why_no_route(table=table(deployment("failed", 0.1, cert("global", status="FAILED"))),
                           model="m", needs=Needs(), allow_uncertified=False)  # fmt: skip
    assert "valid certification" in message


def test_uncertified_routes_only_when_allowed_and_after_certified_ones() -> None:
    t = table(deployment("trial", 0.1, cert("global", status="FAILED")),
              deployment("good", 9.0, cert("global")), deployment("new", 0.01))  # fmt: skip
    assert order(t) == [("good", "global", True)]
    allowed = order(t, allow_uncertified=True)
    assert allowed[0] == ("good", "global", True)
    assert {d for d, _, certified in allowed[1:] if not certified} == {"trial", "new"}
    notools = table(deployment("x", 0.1, cert("global", status="FAILED",
                                             failed=frozenset({"tool_calling"}))))  # fmt: skip
    assert order(notools, needs=Needs(tools=True), allow_uncertified=True) == []


def test_verdicts_read_test_results_and_observed_capabilities() -> None:
    from myia.db.models import ModelCertification
    from myia.routing.resolve import _verdicts

    row = ModelCertification(
        test_results=[
            {"name": "tools", "capability": "tool_calling", "status": "passed"},
            {"name": "vision", "capability": "vision", "status": "passed"},
            {"name": "core", "capability": None, "status": "passed"},
        ],
        # What this region observed wins where it says false; null is inconclusive.
        observed_capabilities={"vision": False, "streaming": True, "json_output": None},
    )
    passed, failed = _verdicts(row)
    view = CertificationView(region="r", status="CERTIFIED", badge=None, rating=None,
                             expires_at=None, passed=passed, failed=failed)  # fmt: skip
    assert view.proves("tool_calling") and view.proves("streaming")
    assert not view.proves("vision") and not view.proves("json_output")
