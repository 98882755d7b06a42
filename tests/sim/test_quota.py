"""Per-region and per-provider token buckets: throttle past the burst, recover after."""

from __future__ import annotations

import time

import pytest

from myia.sim import SimServer
from myia.sim.quota import Quotas, TokenBucket
from myia.sim.scenario import Quota
from tests.sim.conftest import NOVA_MICRO, SONNET, bedrock, user


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket() -> None:
    clock = FakeClock()
    bucket = TokenBucket(Quota(requests_per_second=2, burst=3), clock)
    assert [bucket.take().allowed for _ in range(4)] == [True, True, True, False]
    refused = bucket.take()
    assert refused.retry_after_s == pytest.approx(0.5) and refused.remaining == 0
    clock.now += 0.5
    assert bucket.take().allowed and not bucket.take().allowed
    clock.now += 10
    admission = bucket.take()
    assert admission.allowed and admission.remaining == 2  # refilled to the burst, minus one


def test_unlimited_scopes_and_reset() -> None:
    quotas = Quotas()
    assert quotas.admit("anything", None) is None
    tight = Quota(requests_per_second=0.001, burst=1)

    def allowed() -> bool:
        admission = quotas.admit("r", tight)
        assert admission is not None
        return admission.allowed

    assert allowed() and not allowed()
    quotas.reset()
    assert allowed()


def test_bedrock_throttles_per_region_then_recovers(throttle_sim: SimServer) -> None:
    client = bedrock(throttle_sim, region="us-east-1")
    for _ in range(2):
        client.converse(modelId=SONNET, messages=[user("hi")])
    with pytest.raises(client.exceptions.ThrottlingException) as caught:
        client.converse(modelId=NOVA_MICRO, messages=[user("hi")])  # the bucket is per region
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert response["Error"]["Message"] == "Too many requests, please wait before trying again."
    retry_after = int(response["ResponseMetadata"]["HTTPHeaders"]["retry-after"])
    assert retry_after >= 1
    # Another region has its own bucket.
    bedrock(throttle_sim, region="us-west-2").converse(modelId=SONNET, messages=[user("hi")])
    time.sleep(0.6)  # 2 rps: one token back after 0.5 s
    client.converse(modelId=SONNET, messages=[user("hi")])
    stats = throttle_sim.stats
    assert (stats.calls, stats.throttled) == (5, 1)
    assert stats.by_region["us-east-1"].throttled == 1
    assert stats.by_region_model["us-east-1"][NOVA_MICRO].throttled == 1
    assert stats.by_model[SONNET].calls == 4


def test_stream_calls_count_against_the_quota(throttle_sim: SimServer) -> None:
    client = bedrock(throttle_sim)
    for _ in range(2):
        list(client.converse_stream(modelId=SONNET, messages=[user("hi")])["stream"])
    with pytest.raises(client.exceptions.ThrottlingException):
        client.converse_stream(modelId=SONNET, messages=[user("hi")])
    throttle_sim.reset_quotas()
    throttle_sim.reset_stats()
    client.converse(modelId=SONNET, messages=[user("hi")])
    assert throttle_sim.stats.calls == 1
