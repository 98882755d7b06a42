"""What certification spends, and the cap a job may not spend past (issue 24, point 5).

Every item records its provider calls' tokens and their cost at the deployment's price in the
item's region (`cost_usd`, null with `cost_reason` "unpriced" when no price is known: never
0). A job created with `max_cost` (USD) checks, before each item starts, that what it has
spent, plus what its running items hold, plus this item's estimated maximum still fits under
the cap; the check and the reservation are one conditional UPDATE of the job row, so workers
in any number of processes cannot both take the last dollar. An item that does not fit is
cancelled with the outcome "budget". When the item ends (however it ends) its reservation is
settled to the actual cost of the tokens the provider reported.

The estimate is the suite's planned calls (every sample a test may ask, every call of its
batteries) × each call's `max_tokens` output plus `INPUT_TOKENS_PER_CALL` input, at the
item's price: an upper bound on what the run can cost, so the job stays under its cap unless
a prompt is longer than that input allowance. A worker that dies mid-item cannot settle: its
item's reservation is charged in full when the item is recovered (never under-counted).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from myia.catalog.price_history import regional_prices
from myia.certification.probe import Meter
from myia.certification.records import claimed_capabilities
from myia.certification.regions import GLOBAL_REGION
from myia.certification.runner import DEFAULT_SAMPLES
from myia.certification.suite import build_suite
from myia.db.models import CertificationJob, CertificationJobItem, ModelDeployment
from myia.telemetry.cost import PER_TOKENS, price_in_region, priced

# A generous bound on one suite prompt's input: the tool battery's tools with their schemas
# are the longest, a few hundred tokens.
INPUT_TOKENS_PER_CALL = 2000
BUDGET = "budget"  # the outcome of an item cancelled because it would not fit under the cap
UNPRICED = "unpriced"  # the cost_reason of an item whose deployment has no known price
# Float sums drift by far less than this; a cap is never missed by it.
EPSILON_USD = 1e-9


def max_item_cost(
    *,
    claimed: dict[str, bool],
    deep: bool,
    price_in: float | None,
    price_out: float | None,
    samples: int = DEFAULT_SAMPLES,
) -> float | None:
    """The most one run of the suite can cost at these prices; None when unpriced."""
    if price_in is None or price_out is None:
        return None
    total = 0.0
    for test in build_suite(deep=deep):
        if test.capability is not None and not claimed.get(test.claim or test.capability, False):
            continue
        calls = max(1, test.samples or samples) * test.calls
        total += calls * (INPUT_TOKENS_PER_CALL * price_in + test.max_out * price_out)
    return total / PER_TOKENS


async def pair_prices(
    session: AsyncSession, pairs: Sequence[tuple[ModelDeployment, str]]
) -> list[tuple[float | None, float | None]]:
    """Each pair's price per 1M tokens in its region (one query for every regional price)."""
    regional = await regional_prices(session=session, deployment_ids=[d.id for d, _ in pairs])
    found = []
    for deployment, region in pairs:
        prices = {
            p.region: (p.cost_per_1m_input, p.cost_per_1m_output)
            for p in regional.get(deployment.id, [])
        }
        found.append(
            price_in_region(
                deployment.cost_per_1m_input,
                deployment.cost_per_1m_output,
                prices,
                None if region == GLOBAL_REGION else region,
            )
        )
    return found


async def unpriced_pairs(
    session: AsyncSession, pairs: Sequence[tuple[ModelDeployment, str]]
) -> list[str]:
    """`deployment_id@region` of the pairs with no known price in their region."""
    prices = await pair_prices(session, pairs)
    return [
        f"{deployment.deployment_id}@{region}"
        for (deployment, region), (price_in, price_out) in zip(pairs, prices, strict=True)
        if price_in is None or price_out is None
    ]


async def max_job_cost(
    session: AsyncSession, pairs: Sequence[tuple[ModelDeployment, str]], *, deep: bool
) -> tuple[float, list[str]]:
    """The most a job of these pairs can spend (every item's estimated maximum, base models
    loaded) and the unpriced pairs that total leaves out (`deployment_id@region`)."""
    total, unpriced = 0.0, []
    prices = await pair_prices(session, pairs)
    for (deployment, region), (price_in, price_out) in zip(pairs, prices, strict=True):
        most = max_item_cost(
            claimed=claimed_capabilities(deployment),
            deep=deep,
            price_in=price_in,
            price_out=price_out,
        )
        if most is None:
            unpriced.append(f"{deployment.deployment_id}@{region}")
        else:
            total += most
    return total, unpriced


async def reserve(session: AsyncSession, job_id: str, item_id: str, amount: float) -> bool:
    """Hold `amount` of the job's cap for the item, if it fits; the caller commits.

    One conditional UPDATE: PostgreSQL re-checks the condition against the row a concurrent
    reservation committed, SQLite has one writer at a time, so two workers never both fit.
    """
    job = CertificationJob
    result = await session.execute(
        update(job)
        .where(
            job.id == job_id,
            job.max_cost_usd.is_not(None),
            job.spent_usd + job.reserved_usd + amount <= job.max_cost_usd + EPSILON_USD,
        )
        .values(reserved_usd=job.reserved_usd + amount)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        return False
    await session.execute(
        update(CertificationJobItem)
        .where(CertificationJobItem.id == item_id)
        .values(reserved_usd=CertificationJobItem.reserved_usd + amount)
        .execution_options(synchronize_session=False)
    )
    return True


async def settle(
    session: AsyncSession,
    *,
    job_id: str,
    item_id: str,
    meter: Meter,
    price_in: float | None,
    price_out: float | None,
) -> None:
    """Charge the tokens the meter counted since its last settlement to the item and the job,
    and release the item's reservation; the caller commits, then calls `meter.mark()`.

    The job row is updated (so locked) before the item, the order every transaction that
    moves an item keeps (`jobs.lock_job`): none waits on another in a cycle."""
    tokens_in, tokens_out = meter.pending()
    held = (
        await session.execute(
            select(CertificationJobItem.reserved_usd).where(CertificationJobItem.id == item_id)
        )
    ).scalar_one_or_none()
    if held is None:
        return
    cost = priced(tokens_in, tokens_out, price_in, price_out)
    item = CertificationJobItem
    values: dict[str, object] = {
        "tokens_in": item.tokens_in + tokens_in,
        "tokens_out": item.tokens_out + tokens_out,
        "reserved_usd": 0.0,
    }
    if cost.cost is None:
        values.update(cost_usd=None, cost_reason=UNPRICED)
    else:
        values.update(cost_usd=func.coalesce(item.cost_usd, 0.0) + cost.cost, cost_reason=None)
    job = CertificationJob
    await session.execute(
        update(job)
        .where(job.id == job_id)
        .values(
            spent_usd=job.spent_usd + (cost.cost or 0.0),
            reserved_usd=job.reserved_usd - (held or 0.0),
        )
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(item)
        .where(item.id == item_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def charge_reservations(session: AsyncSession, item_ids: Sequence[str]) -> None:
    """Items whose worker died mid-run: what they spent is unknown, so their whole
    reservation is charged as spent (an upper bound); the caller commits."""
    if not item_ids:
        return
    item = CertificationJobItem
    rows = (
        await session.execute(
            select(item.id, item.job_id, item.reserved_usd).where(
                item.id.in_(list(item_ids)), item.reserved_usd > 0
            )
        )
    ).all()
    for item_id, job_id, held in rows:
        # The job row first (its UPDATE locks it), then the item: the order every
        # transaction that moves an item keeps, so none deadlocks on another.
        await session.execute(
            update(CertificationJob)
            .where(CertificationJob.id == job_id)
            .values(
                spent_usd=CertificationJob.spent_usd + held,
                reserved_usd=CertificationJob.reserved_usd - held,
            )
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            update(CertificationJobItem)
            .where(CertificationJobItem.id == item_id)
            .values(
                cost_usd=func.coalesce(CertificationJobItem.cost_usd, 0.0) + held,
                reserved_usd=0.0,
            )
            .execution_options(synchronize_session=False)
        )


def job_spend(job: CertificationJob) -> dict[str, float | None]:
    """A job's spend as its progress shows it live."""
    return {
        "spent_usd": job.spent_usd or 0.0,
        "reserved_usd": job.reserved_usd or 0.0,
        "max_cost_usd": job.max_cost_usd,
    }
