"""The catalog file's import service on both databases: validation by entry and field (the API's
rules), references, bounds, partial entries, regional price sets, the price source rule, prune,
and the cache invalidation after a write."""

from __future__ import annotations

import textwrap
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.catalog.cache import DEPLOYMENTS, CatalogCache
from myia.catalog.transfer import ImportReport, import_catalog
from myia.catalog.transfer_export import export_catalog
from myia.catalog.transfer_schema import (
    MAX_ENTRIES,
    MAX_FILE_BYTES,
    CatalogFileError,
    dump_yaml,
    load_yaml,
    parse_document,
)
from myia.db.enums import PriceSourceKind
from myia.db.models import BaseModel, DeploymentPrice, ModelDeployment, PriceHistory, Provider
from myia.db.types import utcnow
from myia.errors import InvalidInputError
from tests.catalog.transfer_catalog import PROFILE_ID, add_rich_catalog

HEAD = textwrap.dedent(
    """\
    version: 1
    providers:
    - {slug: acme, name: Acme, auth_type: api_key, base_url: "https://api.acme.example/v1"}
    base_models:
    - {name: Anvil, vendor: acme, capabilities: {streaming: true, max_context_window: 8192}}
    """
)


async def _import(session: AsyncSession, text: str, **options: bool) -> ImportReport:
    return await import_catalog(session=session, cache=CatalogCache(ttl_s=60), text=text, **options)


async def _count(session: AsyncSession, table: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(table)) or 0)


def _problems(text: str) -> list[str]:
    with pytest.raises(CatalogFileError) as caught:
        parse_document(load_yaml(text))
    return caught.value.problems


def test_each_bad_entry_is_named_with_its_field() -> None:
    text = HEAD + textwrap.dedent(
        """\
        deployments:
        - {provider: acme, deployment_id: ok-1, base_model: Anvil}
        - {provider: acme, deployment_id: bad-1, base_model: Anvil, cost_per_1m_input: -1}
        - {provider: acme, deployment_id: bad-2, base_model: Anvil, custom_params: {seed: 1}}
        - {provider: acme, deployment_id: bad-3, base_model: Anvil, colour: blue}
        - {provider: acme, deployment_id: bad-4, base_model: Anvil, is_active: "yes"}
        - {provider: acme, deployment_id: bad-5, base_model: Anvil, price_source_kind: bundled}
        - {provider: acme, deployment_id: bad-6, base_model: Anvil, inference_type: SOMETIMES}
        """
    )
    problems = _problems(text)
    assert problems[0] == (
        "deployments[1] (acme/bad-1): cost_per_1m_input: Input should be greater than or equal to 0"
    )
    assert problems[1].startswith("deployments[2] (acme/bad-2): custom_params: 'seed' is not")
    assert problems[2] == "deployments[3] (acme/bad-3): colour: Extra inputs are not permitted"
    assert problems[3] == "deployments[4] (acme/bad-4): is_active: Input should be a valid boolean"
    assert problems[4] == (
        "deployments[5] (acme/bad-5): price_source_kind: a price source needs a price"
    )
    assert problems[5].startswith("deployments[6] (acme/bad-6): inference_type: Input should be")
    assert len(problems) == 6


def test_the_file_itself_is_checked_and_bounded() -> None:
    assert _problems("providers: []\n") == ["version: must be 1 (found None)"]
    assert _problems("version: 2\nmodels: []\n") == [
        "unknown top-level key(s): models",
        "version: must be 1 (found 2)",
    ]
    too_many = "version: 1\nproviders:\n" + "- {}\n" * (MAX_ENTRIES["providers"] + 1)
    assert _problems(too_many) == [
        f"providers: {MAX_ENTRIES['providers'] + 1} entries; at most "
        f"{MAX_ENTRIES['providers']} per file"
    ]
    with pytest.raises(InvalidInputError, match="aliases"):
        load_yaml("version: 1\nx: &a [1, 2]\ny: *a\n")
    with pytest.raises(InvalidInputError, match=f"at most {MAX_FILE_BYTES} bytes"):
        load_yaml(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(InvalidInputError, match="at line 3"):
        load_yaml("version: 1\nproviders: [\n")
    # YAML would read a bare date as a date: here it stays the ISO string the schema reads.
    [price] = parse_document(
        load_yaml(
            HEAD + "deployments:\n- {provider: acme, deployment_id: d, base_model: Anvil,"
            " cost_per_1m_input: 1, cost_per_1m_output: 2, price_as_of: 2026-12-01}\n"
        )
    )["deployments"]
    assert price.price_as_of == date(2026, 12, 1)


async def test_references_and_duplicates_refuse_the_whole_file(session: AsyncSession) -> None:
    text = HEAD + textwrap.dedent(
        """\
        deployments:
        - {provider: acme, deployment_id: one, base_model: Anvil, PRICE}
        - {provider: nobody, deployment_id: two, base_model: Anvil, PRICE}
        - {provider: acme, deployment_id: three, base_model: Ghost, PRICE}
        - {provider: acme, deployment_id: one, base_model: Anvil, PRICE}
        - {provider: acme, deployment_id: four, base_model: Anvil}
        """
    ).replace("PRICE", "cost_per_1m_input: 1, cost_per_1m_output: null")
    with pytest.raises(CatalogFileError) as caught:
        await _import(session, text)
    assert caught.value.problems == [
        "deployments[3] (acme/one): the same key as deployments[0]",
        "deployments[1] (nobody/two): provider: no provider 'nobody' in the file or the catalog",
        "deployments[2] (acme/three): base_model: no base model 'Ghost' in the file or the catalog",
        "deployments[4] (acme/four): cost_per_1m_input: a new deployment states it (null: unknown)",
        "deployments[4] (acme/four): cost_per_1m_output: a new deployment states it (null: "
        "unknown)",
    ]
    assert await _count(session, Provider) == 0 and await _count(session, BaseModel) == 0


async def test_a_partial_entry_keeps_what_it_leaves_out(session: AsyncSession) -> None:
    await add_rich_catalog(session)
    before = (await export_catalog(session=session)).text
    # Only a new price: the config, params, overrides and regional prices stay.
    text = textwrap.dedent(
        f"""\
        version: 1
        deployments:
        - provider: acme-sim
          deployment_id: {PROFILE_ID}
          base_model: Anvil Pro
          cost_per_1m_input: 2.75
        """
    )
    report = await _import(session, text)
    [entry] = report.entries
    assert [(c.name, c.old, c.new) for c in entry.changes] == [
        ("cost_per_1m_input", 3.0, 2.75),
        ("price_source_kind", PriceSourceKind.BUNDLED, PriceSourceKind.OPERATOR),
        ("price_source_name", "Acme pricing", None),
        ("price_source_url", "https://acme.example/pricing", None),
        ("price_as_of", date(2026, 11, 2), utcnow().date()),
    ]
    row = await session.scalar(
        select(ModelDeployment).where(ModelDeployment.deployment_id == PROFILE_ID)
    )
    assert row is not None
    await session.refresh(row)
    assert row.provider_config == {
        "regions": ["eu-west-1", "eu-central-1"],
        "inference_profiles": {"eu-west-1": PROFILE_ID},
    }
    assert row.custom_params == {"max_tokens": 512}
    assert await _count(session, DeploymentPrice) == 2
    after = (await export_catalog(session=session)).text
    assert after.replace("2.75", "3.0") != before  # only the price and its source moved
    assert (await _import(session, text)).changes == 0


async def test_regional_prices_given_are_the_whole_set(session: AsyncSession) -> None:
    await add_rich_catalog(session)
    text = textwrap.dedent(
        f"""\
        version: 1
        deployments:
        - provider: acme-sim
          deployment_id: {PROFILE_ID}
          base_model: Anvil Pro
          regional_prices:
          - {{region: eu, cost_per_1m_input: 3.3, cost_per_1m_output: 16.5,
              price_source_kind: operator, price_as_of: '2026-12-01'}}
          - {{region: apac, cost_per_1m_input: 3.6, cost_per_1m_output: 18.0,
              price_source_kind: bundled, price_source_name: Acme pricing}}
        """
    )
    history = await _count(session, PriceHistory)
    report = await _import(session, text)
    [entry] = report.entries
    names = [c.name for c in entry.changes]
    assert names == [
        "regional_prices[eu-central-1]",
        "regional_prices[apac].cost_per_1m_input",
        "regional_prices[apac].cost_per_1m_output",
        "regional_prices[apac].price_source_kind",
        "regional_prices[apac].price_source_name",
        "regional_prices[apac].price_as_of",  # not given: the day of the import
    ]
    regions = await session.scalars(select(DeploymentPrice.region).order_by(DeploymentPrice.region))
    assert list(regions) == ["apac", "eu"]
    # One history row per regional change: eu-central-1 removed, apac added.
    assert await _count(session, PriceHistory) == history + 2
    vias = await session.scalars(select(PriceHistory.via).order_by(PriceHistory.changed_at.desc()))
    assert list(vias)[:2] == ["import", "import"]


async def test_prune_deletes_only_what_the_file_lacks_and_needs_references_in_it(
    session: AsyncSession,
) -> None:
    await add_rich_catalog(session)
    text = textwrap.dedent(
        """\
        version: 1
        base_models:
        - {name: Anvil Legacy, vendor: acme, deprecated: true}
        deployments:
        - {provider: acme-sim, deployment_id: acme.anvil-legacy, base_model: Anvil Legacy}
        """
    )
    with pytest.raises(CatalogFileError) as caught:
        await _import(session, text, prune=True)
    assert caught.value.problems == [
        "deployments[0] (acme-sim/acme.anvil-legacy): provider: no provider 'acme-sim' in the file"
    ]
    with_provider = text.replace(
        "base_models:",
        "providers:\n- {slug: acme-sim, name: Acme, auth_type: aws_credentials}\nbase_models:",
    )
    dry = await _import(session, with_provider, prune=True, dry_run=True)
    deleted = [(e.section, e.key) for e in dry.entries if e.action == "delete"]
    assert deleted == [
        ("deployments", "acme-sim/acme.anvil-legacy-2"),
        ("deployments", "acme-sim/arn:aws:bedrock:eu-west-1:123456789012:provisioned-model/anvil"),
        ("deployments", f"acme-sim/{PROFILE_ID}"),
        ("base_models", "Anvil Pro"),
    ]
    assert await _count(session, ModelDeployment) == 4
    await _import(session, with_provider, prune=True)
    assert list(await session.scalars(select(ModelDeployment.deployment_id))) == [
        "acme.anvil-legacy"
    ]
    assert await _count(session, Provider) == 1  # providers are never pruned


async def test_a_write_invalidates_the_catalog_cache(session: AsyncSession) -> None:
    cache = CatalogCache(ttl_s=600)
    loads: list[int] = []

    async def load() -> int:
        loads.append(1)
        return await _count(session, ModelDeployment)

    assert await cache.get_or_load(DEPLOYMENTS, "count", load) == 0
    text = HEAD + (
        "deployments:\n- {provider: acme, deployment_id: d1, base_model: Anvil,"
        " cost_per_1m_input: null, cost_per_1m_output: null}\n"
    )
    await import_catalog(session=session, cache=cache, text=text, dry_run=True)
    assert await cache.get_or_load(DEPLOYMENTS, "count", load) == 0 and len(loads) == 1
    await import_catalog(session=session, cache=cache, text=text)
    assert await cache.get_or_load(DEPLOYMENTS, "count", load) == 1 and len(loads) == 2


async def test_values_yaml_would_misread_survive_the_round_trip(session: AsyncSession) -> None:
    """Ids YAML reads as null, booleans, numbers or dates, text with YAML's own punctuation,
    and floats with no short decimal form come back exactly."""
    await add_rich_catalog(session)
    provider = await session.scalar(select(Provider).where(Provider.slug == "acme-sim"))
    model = await session.scalar(select(BaseModel).where(BaseModel.name == "Anvil Pro"))
    assert provider is not None and model is not None
    tricky = ["null", "yes", "1.0", "2026-12-04", "~", "- item", "#not a comment", " lead"]
    for n, deployment_id in enumerate(tricky):
        session.add(
            ModelDeployment(
                base_model_id=model.id,
                provider_id=provider.id,
                deployment_id=deployment_id,
                cost_per_1m_input=0.1 + 0.2,
                cost_per_1m_output=1e-07 * (n + 1),
                price_source_kind=PriceSourceKind.OPERATOR,
                price_source_name="a: b # c 'd' \"e\"",
            )
        )
    await session.commit()
    first = (await export_catalog(session=session)).text
    for table in (ModelDeployment, BaseModel, Provider):
        await session.execute(delete(table))
    await session.commit()
    report = await _import(session, first)
    assert report.count("deployments", "create") == 4 + len(tricky)
    assert (await export_catalog(session=session)).text == first
    stored = set(await session.scalars(select(ModelDeployment.deployment_id)))
    assert set(tricky) <= stored
    assert (await _import(session, first)).changes == 0


# Text the catalog can store: no NUL, no lone surrogate (validation refuses those).
_STORABLE = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))


@settings(max_examples=200, deadline=None)
@given(
    values=st.dictionaries(
        _STORABLE,
        st.one_of(
            _STORABLE,
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(allow_nan=False, allow_infinity=False),
            st.lists(_STORABLE, max_size=3),
        ),
        max_size=5,
    )
)
def test_any_storable_value_reads_back_as_written(values: dict[str, object]) -> None:
    """What the export writes, the import reads back identically: strings YAML would take for
    something else are quoted, any character is escaped as needed, floats keep every digit."""
    document = {"version": 1, "providers": [{"name": v} for v in values.values()], "x": values}
    assert load_yaml(dump_yaml(document)) == document
