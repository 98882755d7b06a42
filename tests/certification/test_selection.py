"""JobSelection → (deployment, region) pairs: every way to name a model, regions, vendors,
providers, recertify filters, and refusals that name the field."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification import jobs
from myia.certification.selection import JobSelection, resolve_items, resolve_selection
from myia.db.enums import AuthType, CertificationJobType
from myia.db.types import utcnow
from myia.errors import InvalidInputError
from tests.factories import make_base_model, make_certification, make_deployment, make_provider

REGIONS = ["us-east-1", "eu-west-1"]
CLAUDE = "anthropic.claude-3-5-sonnet-20241022-v2:0"
NOVA = "amazon.nova-micro-v1:0"


@pytest.fixture
async def catalog(session: AsyncSession) -> dict[str, Any]:
    bedrock = await make_provider(
        session, slug="bedrock", name="Bedrock", auth_type=AuthType.AWS_CREDENTIALS
    )
    openai = await make_provider(session, slug="openai", name="OpenAI")
    retired = await make_provider(session, slug="retired", name="Retired", is_active=False)
    claude = await make_base_model(session, name="Claude 3.5 Sonnet", vendor="Anthropic")
    nova = await make_base_model(session, name="Nova Micro", vendor="Amazon")
    gpt = await make_base_model(session, name="GPT-4o", vendor="OpenAI")
    return {
        "claude": claude,
        "claude@bedrock": await make_deployment(
            session, base_model=claude, provider=bedrock, deployment_id=CLAUDE
        ),
        "nova@bedrock": await make_deployment(
            session, base_model=nova, provider=bedrock, deployment_id=NOVA
        ),
        "gpt@openai": await make_deployment(
            session, base_model=gpt, provider=openai, deployment_id="gpt-4o"
        ),
        # Neither an inactive deployment nor one on an inactive provider is ever selected.
        "old@bedrock": await make_deployment(
            session, base_model=nova, provider=bedrock, deployment_id="old-v0", is_active=False
        ),
        "gpt@retired": await make_deployment(
            session, base_model=gpt, provider=retired, deployment_id="gpt-4o-retired"
        ),
    }


async def pairs(session: AsyncSession, **selection: Any) -> list[tuple[str, str]]:
    _, found = await resolve_items(
        session=session, selection=JobSelection(**selection), default_regions=REGIONS
    )
    return sorted((d.deployment_id, region) for d, region in found)


async def refused(session: AsyncSession, **selection: Any) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as caught:
        await pairs(session, **selection)
    return caught.value


async def test_a_model_by_any_of_its_names(session: AsyncSession, catalog: Any) -> None:
    expected = [(CLAUDE, "eu-west-1"), (CLAUDE, "us-east-1")]
    for name in (CLAUDE, catalog["claude@bedrock"].id, catalog["claude"].id, "Claude 3.5 Sonnet"):
        assert await pairs(session, models=[name]) == expected, name
    # A base model name selects its every active deployment: OpenAI has no regions.
    assert await pairs(session, models=["GPT-4o"]) == [("gpt-4o", "global")]


async def test_all_vendor_provider_and_regions(session: AsyncSession, catalog: Any) -> None:
    assert await pairs(session, all=True) == [
        (NOVA, "eu-west-1"), (NOVA, "us-east-1"),
        (CLAUDE, "eu-west-1"), (CLAUDE, "us-east-1"),
        ("gpt-4o", "global"),
    ]  # fmt: skip
    assert await pairs(session, vendor="AMAZON") == [(NOVA, "eu-west-1"), (NOVA, "us-east-1")]
    assert await pairs(session, provider="openai") == [("gpt-4o", "global")]
    assert await pairs(session, all=True, provider="bedrock", regions=["ap-south-1"]) == [
        (NOVA, "ap-south-1"),
        (CLAUDE, "ap-south-1"),
    ]
    # A region alone selects every deployment there: providers without regions are in none
    # (unless `global` is asked for); with `all` they run once, in global.
    assert await pairs(session, regions=["us-west-2"]) == [
        (NOVA, "us-west-2"),
        (CLAUDE, "us-west-2"),
    ]
    assert await pairs(session, regions=["us-west-2", "global"]) == [
        (NOVA, "us-west-2"),
        (CLAUDE, "us-west-2"),
        ("gpt-4o", "global"),
    ]


async def test_refusals_name_the_field(session: AsyncSession, catalog: Any) -> None:
    unknown = await refused(session, models=[CLAUDE, "nope", "gpt-4o-retired"])
    assert unknown.field == "models" and "nope" in unknown.message
    assert "gpt-4o-retired" in unknown.message  # on an inactive provider: not selectable
    region = await refused(session, all=True, regions=["us-east-1", "mars-north-1"])
    assert region.field == "regions" and "mars-north-1" in region.message
    assert (await refused(session)).field == "selection"
    assert (await refused(session, vendor="nobody")).field == "selection"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"models": ["x"], "all": True}, "all"),
        ({"vendor": "x", "all": True}, "all"),
        ({"recertify": "older_than"}, "older_than_days"),
        ({"recertify": "older_than", "older_than_days": 0}, "older_than_days"),
        ({"recertify": "someday"}, "recertify"),
        ({"all": True, "colour": "red"}, "colour"),
    ],
)
def test_incoherent_selection_names_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        JobSelection(**fields)
    assert caught.value.errors()[0]["loc"] == (field,)


def test_job_type_follows_the_selection() -> None:
    assert JobSelection(models=["a"]).job_type(1) is CertificationJobType.SINGLE_MODEL
    assert JobSelection(models=["a", "b"]).job_type(2) is CertificationJobType.MULTIPLE_MODELS
    assert JobSelection(vendor="v").job_type(1) is CertificationJobType.SINGLE_MODEL
    assert JobSelection(all=True).job_type(9) is CertificationJobType.ALL_MODELS
    assert JobSelection(all=True, recertify="expired").job_type(9) is CertificationJobType.RECERTIFY


async def test_recertify_expired_and_older_than_rerun_where_they_are(
    session: AsyncSession, catalog: Any
) -> None:
    now = utcnow()
    claude, nova, gpt = catalog["claude@bedrock"], catalog["nova@bedrock"], catalog["gpt@openai"]
    await make_certification(
        session, deployment=claude, region="ap-south-1", expires_at=now - timedelta(days=1)
    )
    await make_certification(
        session, deployment=nova, region="us-east-1", expires_at=now - timedelta(hours=1)
    )
    await make_certification(
        session, deployment=gpt, region="global", last_tested_at=now - timedelta(days=45)
    )
    await make_certification(session, deployment=nova, region="eu-west-1")

    # Outside the default regions too: an expired certification is renewed where it is.
    assert await pairs(session, all=True, recertify="expired") == [
        (NOVA, "us-east-1"),
        (CLAUDE, "ap-south-1"),
    ]
    assert await pairs(session, all=True, recertify="expired", regions=["us-east-1"]) == [
        (NOVA, "us-east-1")
    ]
    assert await pairs(session, models=[CLAUDE], recertify="expired") == [(CLAUDE, "ap-south-1")]
    assert await pairs(session, all=True, recertify="older_than", older_than_days=30) == [
        ("gpt-4o", "global")
    ]
    assert (
        await refused(session, all=True, recertify="older_than", older_than_days=60)
    ).field == "selection"


async def test_uncertified_keeps_only_pairs_without_a_row(
    session: AsyncSession, catalog: Any
) -> None:
    await make_certification(session, deployment=catalog["nova@bedrock"], region="us-east-1")
    await make_certification(session, deployment=catalog["gpt@openai"], region="global")
    assert await pairs(session, all=True, recertify="uncertified") == [
        (NOVA, "eu-west-1"),
        (CLAUDE, "eu-west-1"),
        (CLAUDE, "us-east-1"),
    ]


async def test_availability_first(session: AsyncSession, catalog: Any) -> None:
    """Only where a deployment is known to be offered; the rest skipped with a reason."""
    catalog["claude@bedrock"].provider_config = {"regions": ["us-east-1"]}
    catalog["nova@bedrock"].provider_config = {"regions": ["eu-west-1", "us-east-1"]}
    await session.commit()
    asked = ["us-east-1", "eu-west-1", "sa-east-1"]
    selected = await resolve_selection(
        session=session, selection=JobSelection(all=True, regions=asked), default_regions=REGIONS
    )
    assert sorted((d.deployment_id, r) for d, r in selected.pairs) == [
        (NOVA, "eu-west-1"),
        (NOVA, "us-east-1"),
        (CLAUDE, "us-east-1"),
        ("gpt-4o", "global"),
    ]
    skipped = {(s.deployment.deployment_id, s.region): s.reason for s in selected.skipped}
    assert set(skipped) == {(CLAUDE, "eu-west-1"), (CLAUDE, "sa-east-1"), (NOVA, "sa-east-1")}
    assert skipped[(CLAUDE, "eu-west-1")].startswith(
        "not offered in eu-west-1 (known to be offered in us-east-1;"
    )
    # Default regions follow the same rule.
    assert await pairs(session, models=[CLAUDE]) == [(CLAUDE, "us-east-1")]
    # The operator may probe anyway.
    assert await pairs(session, models=[CLAUDE], regions=["sa-east-1"], probe_unlisted=True) == [
        (CLAUDE, "sa-east-1")
    ]
    # A region where nothing is offered: no job, no item, and the reason.
    before = len(await jobs.list_jobs(session=session))
    with pytest.raises(InvalidInputError) as caught:
        await jobs.create_job(
            session=session, selection=JobSelection(regions=["sa-east-1"]), default_regions=REGIONS
        )
    assert caught.value.field == "selection"
    assert caught.value.message.startswith("no selected deployment is offered in region sa-east-1")
    assert "--probe-unlisted" in caught.value.message
    assert len(await jobs.list_jobs(session=session)) == before
    assert JobSelection.model_validate({"all": True, "probe_unlisted": True}).probe_unlisted
    # A job says which pairs it left out and why; they are not items, nor counted.
    job, item_ids = await jobs.create_job(
        session=session, selection=JobSelection(models=[CLAUDE], regions=asked), default_regions=[]
    )
    assert job.total_models == len(item_ids) == 1
    assert job.config is not None
    assert [(s["deployment_id"], s["region"]) for s in job.config["skipped"]] == [
        (CLAUDE, "eu-west-1"),
        (CLAUDE, "sa-east-1"),
    ]
