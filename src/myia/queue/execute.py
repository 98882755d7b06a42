"""Run one work item: claim it, certify (deployment, region), record the result.

Shared by every engine: the embedded workers call it directly, SAQ workers from their task
function. Idempotent by construction — a second delivery of a finished or claimed item does
nothing — so "at least once" queues give "exactly one certification row" in the database.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from myia.catalog.cache import BASE_MODELS, DEPLOYMENTS, CatalogCache
from myia.catalog.price_history import deployment_price_in_region
from myia.certification import spend
from myia.certification.probe import Meter, Probe, ThrottledOut, TransientOut
from myia.certification.records import claimed_capabilities, save_outcome
from myia.certification.regions import GLOBAL_REGION
from myia.certification.runner import SuiteOutcome, run_suite
from myia.certification.scoring import Badge, Score
from myia.config import Settings
from myia.credentials.connections import connection_for
from myia.db.engine import Database
from myia.db.enums import CertificationStatus, JobItemStatus
from myia.db.models import CertificationJob, CertificationJobItem, ModelDeployment
from myia.observability.logging import get_logger
from myia.providers.adapter import ProviderAdapter
from myia.providers.bedrock.model_ids import profile_id_for_deployment
from myia.providers.connection import ProviderConnection
from myia.providers.errors import ErrorCategory, ProviderError
from myia.providers.observed import bind_call_scope
from myia.providers.registry import get_adapter
from myia.queue import items
from myia.queue.infrastructure import is_infrastructure_error
from myia.queue.ratelimit import LimiterPool

log = get_logger(__name__)
THROTTLE_BUDGET_S = 300.0


@dataclass
class ItemSpend:
    """What an item's run spends: its tokens and the price they are charged at."""

    job_id: str
    price_in: float | None
    price_out: float | None
    meter: Meter = field(default_factory=Meter)


@dataclass
class Executor:
    database: Database
    settings: Settings
    limiters: LimiterPool
    worker_id: str
    adapter_factory: Callable[[ProviderConnection], ProviderAdapter] = get_adapter
    processed: int = 0
    active: int = 0
    # Items claimed and not yet settled by this worker (see `heartbeat_items`), counted: a
    # queue may deliver one item twice at once, and the loser's refused claim must not drop
    # the winner's hold.
    held: Counter[str] = field(default_factory=Counter)
    # Adapters are reused across items (building an OpenAI client costs ~50 ms): one per
    # provider, endpoint, region and credential.
    adapters: dict[str, ProviderAdapter] = field(default_factory=dict)
    # Routes and badges are cached from certification rows: a new verdict must drop them in
    # every process (through Redis when set), or the gateway routes on the old one until the
    # cache expires.
    catalog_cache: CatalogCache | None = None
    # The run in progress of each item this worker runs: settled however the run ends.
    spends: dict[str, ItemSpend] = field(default_factory=dict)

    def _adapter(self, connection: ProviderConnection) -> ProviderAdapter:
        key = _connection_key(connection)
        if key not in self.adapters:
            self.adapters[key] = self.adapter_factory(connection)
        return self.adapters[key]

    async def aclose(self) -> None:
        adapters, self.adapters = self.adapters, {}
        for adapter in adapters.values():
            await adapter.aclose()

    async def run(self, item_id: str) -> str:
        """Returns what happened: skipped | retry | throttled | released | COMPLETED | FAILED
        | discarded | budget (cancelled: it would not fit under the job's cost cap)."""
        # Held before the claim commits: the heartbeat gives back whatever the database says
        # this worker runs that it does not hold, and a claim is not yet ours to give back.
        self.held[item_id] += 1
        try:
            async with self.database.session() as session:
                if not await items.claim(session, item_id, self.worker_id):
                    self._unhold(item_id)
                    return "skipped"
        except BaseException:
            # Whether the claim committed is unknown (the database went away mid-commit):
            # if it did, the next heartbeat gives the item back.
            self._unhold(item_id)
            raise
        self.active += 1
        try:
            return await self._certify(item_id)
        except (Exception, asyncio.CancelledError) as exc:
            # An item left PROCESSING by a live worker (a database error while recording, a
            # cancelled task) must run again: give it back before the error goes on. If that
            # fails too, the next heartbeat retries (`heartbeat_items`).
            await asyncio.shield(self._give_back(item_id, exc))
            raise
        finally:
            self.spends.pop(item_id, None)
            self._unhold(item_id)
            self.active -= 1
            self.processed += 1

    def _unhold(self, item_id: str) -> None:
        self.held[item_id] -= 1
        if self.held[item_id] <= 0:
            del self.held[item_id]

    async def heartbeat_items(self) -> None:
        """Run on every heartbeat: renew the lease on the items this worker runs, and give
        back those the database says it runs but it does not (a give-back or a claim whose
        answer an outage swallowed)."""
        async with self.database.session() as session:
            await items.renew(session, self.worker_id, set(self.held))
            returned = await items.release_unheld(session, self.worker_id, self.held)
        if returned:
            log.info("items given back", worker_id=self.worker_id, items=len(returned))

    async def _give_back(self, item_id: str, exc: BaseException) -> None:
        interrupted = isinstance(exc, asyncio.CancelledError)
        # Neither a stopping worker nor an outage is a verdict on the model.
        not_the_model = interrupted or is_infrastructure_error(exc)
        try:
            async with self.database.session() as session:
                await self._settle(session, item_id)
                await items.release(
                    session,
                    item_id,
                    self.worker_id,
                    delay_s=0.0 if interrupted else self.settings.queue_retry_backoff_s,
                    error=f"interrupted: {type(exc).__name__}",
                    refund_attempt=not_the_model,
                )
                self._settled(item_id)
        except Exception as err:  # the database is what failed: the next heartbeat retries
            log.warning("could not give the item back", item_id=item_id, error=type(err).__name__)

    async def _load(
        self, session: AsyncSession, item_id: str
    ) -> tuple[CertificationJobItem, CertificationJob, ModelDeployment]:
        item = await session.get(CertificationJobItem, item_id)
        assert item is not None
        job = await session.get(CertificationJob, item.job_id)
        assert job is not None
        deployment = (
            await session.execute(
                select(ModelDeployment)
                .where(ModelDeployment.id == item.deployment_id)
                .options(
                    selectinload(ModelDeployment.base_model),
                    selectinload(ModelDeployment.provider),
                )
            )
        ).scalar_one()
        return item, job, deployment

    async def _run_suite(
        self,
        session: AsyncSession,
        item: CertificationJobItem,
        job: CertificationJob,
        deployment: ModelDeployment,
        cost: ItemSpend,
    ) -> SuiteOutcome:
        region = None if item.region == GLOBAL_REGION else item.region
        timeout_s = self.settings.queue_item_timeout_s
        connection = await connection_for(
            session=session,
            provider=deployment.provider,
            region=region,
            user_id=job.created_by,
            secret=self.settings.encryption_secret,
            timeout_s=timeout_s,
        )
        # End the read transaction before the long provider calls: on SQLite a transaction
        # kept open across other workers' commits could not write its result afterwards.
        await session.commit()
        # The suite's provider calls are logged as certification calls of this deployment.
        bind_call_scope(operation="certification", deployment_id=deployment.id,
                        user_id=job.created_by, price_in_per_1m=cost.price_in,
                        price_out_per_1m=cost.price_out)  # fmt: skip
        adapter = self._adapter(connection)
        async with asyncio.timeout(timeout_s) as deadline:
            probe = Probe(
                adapter,
                profile_id_for_deployment(deployment, region),
                region,
                deployment.inference_type,
                limiter=self.limiters.get(deployment.provider.slug, item.region),
                throttle_budget_s=THROTTLE_BUDGET_S,
                deadline=deadline,
                transient_attempts=self.settings.certification_transient_attempts,
                meter=cost.meter,
            )
            selection = (job.config or {}).get("selection") or {}
            try:
                return await run_suite(
                    probe,
                    claimed=claimed_capabilities(deployment),
                    deep=selection.get("deep") is True,
                )
            except TransientOut as exc:
                raise Undecided(exc, probe) from exc

    async def _certify(self, item_id: str) -> str:
        async with self.database.session() as session:
            item, job, deployment = await self._load(session, item_id)
            # Read now: a discarded result rolls back, which expires `job` (detached after).
            delay_ms = _job_option(job, "delay_ms", 0)
            cost = await self._reserve(session, item, job, deployment)
            if cost is None:
                return spend.BUDGET
            try:
                outcome = await self._run_suite(session, item, job, deployment, cost)
            except ThrottledOut as exc:
                # Given back uncharged; a test that stayed undecided (transient errors past the
                # probe's budget) only `queue_transient_releases` times, then it is recorded.
                limit = self.settings.queue_transient_releases
                if isinstance(exc, Undecided) and item.transient_releases >= limit:
                    outcome = _inconclusive_outcome(exc, runs=item.transient_releases + 1)
                else:
                    await self._settle(session, item_id)
                    await items.release(
                        session,
                        item_id,
                        self.worker_id,
                        delay_s=1.0,
                        error=str(exc),
                        refund_attempt=True,
                        transient=isinstance(exc, Undecided),
                    )
                    self._settled(item_id)
                    return "throttled"
            except Exception as exc:
                if is_infrastructure_error(exc):
                    await self._release_after_outage(session, item_id, exc)
                    return "released"
                error = _as_provider_error(exc)
                if item.attempts <= _job_option(
                    job, "max_retries", self.settings.queue_max_retries
                ):
                    await self._settle(session, item_id)
                    await items.release(
                        session,
                        item_id,
                        self.worker_id,
                        delay_s=self.settings.queue_retry_backoff_s,
                        error=str(error),
                    )
                    self._settled(item_id)
                    log.warning("item retry", item_id=item_id, error=str(error))
                    return "retry"
                outcome = _failed_outcome(error)
            result = await self._record(session, item, job, deployment, outcome)
        # A job run in "sequential mode" (`myia recertify --delay`) rests between items.
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)
        return result

    async def _reserve(
        self,
        session: AsyncSession,
        item: CertificationJobItem,
        job: CertificationJob,
        deployment: ModelDeployment,
    ) -> ItemSpend | None:
        """The item's price in its region and, under a cost cap, its estimated maximum held
        against the cap (committed before any call). None: it does not fit (or has no price
        and the job did not allow that), and the item is cancelled with the outcome "budget"."""
        region = None if item.region == GLOBAL_REGION else item.region
        # The calls are made from `region`: priced at its own price there, if any (issue 27).
        price_in, price_out = await deployment_price_in_region(
            session=session, deployment=deployment, region=region
        )
        cost = ItemSpend(job.id, price_in, price_out)
        self.spends[item.id] = cost
        if job.max_cost_usd is None:
            return cost
        selection = (job.config or {}).get("selection") or {}
        most = spend.max_item_cost(
            claimed=claimed_capabilities(deployment),
            deep=selection.get("deep") is True,
            price_in=price_in,
            price_out=price_out,
        )
        if most is None:
            if selection.get("allow_unpriced") is True:
                return cost
            reason = "budget: the deployment has no known price, and the job has a cost cap"
        elif await spend.reserve(session, job.id, item.id, most):
            await session.commit()
            return cost
        else:
            reason = (
                f"budget: up to ${most:.6f} would not fit under the job's cap of "
                f"${job.max_cost_usd:.6f}"
            )
        await items.finish(
            session,
            item,
            self.worker_id,
            status=JobItemStatus.CANCELLED,
            outcome=spend.BUDGET,
            certification_id=None,
            error=reason,
        )
        await session.commit()
        log.info("item cancelled for budget", item_id=item.id, reason=reason)
        return None

    async def _settle(self, session: AsyncSession, item_id: str) -> None:
        """Charge what the item's run spent since its last settlement and release its
        reservation, in the caller's transaction (committed with the item's transition)."""
        cost = self.spends.get(item_id)
        if cost is not None:
            await spend.settle(
                session,
                job_id=cost.job_id,
                item_id=item_id,
                meter=cost.meter,
                price_in=cost.price_in,
                price_out=cost.price_out,
            )

    def _settled(self, item_id: str) -> None:
        cost = self.spends.get(item_id)
        if cost is not None:
            cost.meter.mark()

    async def _release_after_outage(
        self, session: AsyncSession, item_id: str, exc: BaseException
    ) -> None:
        """An outage of ours (Redis under the rate limiter, the database): back to the queue,
        no attempt charged, nothing recorded."""
        log.warning(
            "item released: infrastructure unavailable",
            item_id=item_id,
            error=f"{type(exc).__name__}: {exc}",
        )
        await session.rollback()
        await self._settle(session, item_id)
        await items.release(
            session,
            item_id,
            self.worker_id,
            delay_s=1.0,
            error=f"infrastructure: {type(exc).__name__}",
            refund_attempt=True,
        )
        self._settled(item_id)

    async def _record(
        self,
        session: AsyncSession,
        item: CertificationJobItem,
        job: CertificationJob,
        deployment: ModelDeployment,
        outcome: SuiteOutcome,
    ) -> str:
        # Re-read the item inside this transaction: the job may have been cancelled while the
        # suite ran, and then nothing of this run may be written.
        item_id = item.id  # read now: a rollback below expires the row's attributes
        row = await save_outcome(
            session=session,
            deployment=deployment,
            region=item.region,
            outcome=outcome,
            expires_days=self.settings.certification_expiry_days,
            job_id=job.id,
            created_by=job.created_by,
        )
        await session.flush()
        await self._settle(session, item_id)
        ok = outcome.score.status is not CertificationStatus.FAILED
        status = JobItemStatus.COMPLETED if ok else JobItemStatus.FAILED
        label = outcome.error.category.value if outcome.error else outcome.score.status.value
        if not await items.finish(
            session,
            item,
            self.worker_id,
            status=status,
            outcome=label,
            certification_id=row.id,
            throttled=outcome.throttled,
        ):
            # Cancelled meanwhile: nothing of the run is recorded, but what it spent is.
            await session.rollback()
            await self._settle(session, item_id)
            await session.commit()
            self._settled(item_id)
            return "discarded"
        await session.commit()
        self._settled(item_id)
        if self.catalog_cache is not None:
            # Soft: routes and service reads reload at once, but the catalog's cached pages
            # may be answered from before this verdict while one request re-renders them
            # (api/response_cache.py): no reader waits on a render after every item.
            await self.catalog_cache.invalidate(DEPLOYMENTS, BASE_MODELS, soft=True)
        log.info(
            "item done",
            item_id=item_id,
            deployment=deployment.deployment_id,
            region=item.region,
            outcome=label,
            rating=outcome.score.rating,
        )
        return status.value


class Undecided(TransientOut):
    """The suite's `TransientOut`, with what its probe absorbed before giving up."""

    def __init__(self, cause: TransientOut, probe: Probe) -> None:
        super().__init__(str(cause), cause.error)
        self.transient = probe.transient
        self.throttled = probe.throttled


def _inconclusive_outcome(exc: Undecided, *, runs: int) -> SuiteOutcome:
    """No verdict: every run of the item met only transient errors on a core test."""
    return SuiteOutcome(
        results=[],
        score=Score(0.0, 0.0, 0.0, 0.0, Badge.FAILED, CertificationStatus.INCONCLUSIVE),
        throttled=exc.throttled,
        transient=exc.transient,
        undecided=f"inconclusive after {runs} run{'s' if runs != 1 else ''}: {exc}",
    )


def _job_option(job: CertificationJob, name: str, default: int) -> int:
    """A per-job override from `job.config` (set by the command that created the job)."""
    value = (job.config or {}).get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _connection_key(connection: ProviderConnection) -> str:
    credentials = connection.credentials
    secret = ""
    if credentials is not None:
        secret = "\0".join(
            value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
            for value in credentials.__dict__.values()
            if value is not None
        )
    digest = hashlib.sha256(secret.encode()).hexdigest()[:24]  # never the secret itself
    return f"{connection.slug}|{connection.base_url}|{connection.region}|{digest}"


def _as_provider_error(exc: BaseException) -> ProviderError:
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, TimeoutError):
        return ProviderError(ErrorCategory.TIMEOUT, "the certification did not finish in time")
    return ProviderError(ErrorCategory.UNKNOWN, f"{type(exc).__name__}: {exc}")


def _failed_outcome(error: ProviderError) -> SuiteOutcome:
    return SuiteOutcome(
        results=[],
        error=error,
        score=Score(0.0, 0.0, 0.0, 0.0, Badge.FAILED, CertificationStatus.FAILED),
    )
