"""The admin catalog editor's forms (issue 27, point 4), both databases: base models,
deployments and provider settings created, edited and deleted through the API's own services
and schemas; a refused form names its field and changes nothing; a delete asks first and says
what goes with it; prices keep their history; the API sees each write at once (its cache is
cleared); only an admin may do any of it."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.enums import InferenceType, PriceSourceKind
from myia.db.models import (
    BaseModel,
    DeploymentPrice,
    ModelCertification,
    ModelDeployment,
    PriceHistory,
    Provider,
)
from myia.db.types import utcnow
from tests.factories import login, make_certification
from tests.web.conftest import ADMIN

NEW_MODEL = {
    "name": "Acme Reasoner 2",
    "vendor": "Acme",
    "family": "Reasoner",
    "version": "2",
    "streaming": "on",
    "tool_calling": "on",
    "max_context_window": "131072",
    "max_output_tokens": "",
    "default_params": '{"temperature": 0.3}',
    "description": "A model for tests.",
    "release_date": "2026-11-02",
    "replaced_by": "",
}


def _form(client: httpx.AsyncClient, **fields: str) -> dict[str, str]:
    return {"csrf_token": client.headers["x-test-csrf"], **fields}


async def _count(session: AsyncSession, table: Any) -> int:
    await session.rollback()  # see what the app committed since
    return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def _provider(session: AsyncSession, slug: str) -> str:
    found = await session.scalar(select(Provider.id).where(Provider.slug == slug))
    assert found is not None
    return found


async def _api(client: httpx.AsyncClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {await login(client, *ADMIN)}"}


async def _create_model(client: httpx.AsyncClient, **changes: str) -> str:
    created = await client.post(
        "/admin/catalog/models", data=_form(client, **{**NEW_MODEL, **changes})
    )
    assert created.status_code == 303, created.text
    found = re.fullmatch(
        r"/admin/catalog/models/([0-9a-f-]{36})/edit\?saved=1", created.headers["location"]
    )
    assert found, created.headers["location"]
    return found.group(1)


def _deployment_form(
    client: httpx.AsyncClient, model_id: str, provider_id: str, **more: str
) -> dict[str, str]:
    fields = {
        "base_model_id": model_id,
        "provider_id": provider_id,
        "deployment_id": "acme/reasoner-2",
        "inference_type": "ON_DEMAND",
        "is_active": "on",
        "cost_per_1m_input": "0.8",
        "cost_per_1m_output": "2.4",
        "price_source_kind": "",
        "price_source_name": "Together pricing",
        "price_source_url": "https://www.together.ai/pricing",
        "price_as_of": "2026-12-01",
        "vision": "no",
        "provider_config": '{"regions": ["us-east-1"]}',
        "custom_params": '{"max_tokens": 2048}',
    }
    fields.update(more)
    return _form(client, **fields)


async def _create_deployment(
    client: httpx.AsyncClient, model_id: str, provider_id: str, **more: str
) -> str:
    created = await client.post(
        "/admin/catalog/deployments", data=_deployment_form(client, model_id, provider_id, **more)
    )
    assert created.status_code == 303, created.text
    return created.headers["location"].split("/")[-2]


# --- base models -----------------------------------------------------------------------------
async def test_a_base_model_is_created_and_the_api_sees_it_at_once(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    api = await _api(admin_client)
    before = await admin_client.get("/api/v2/models", params={"vendor": "Acme"}, headers=api)
    assert before.json()["total"] == 0  # cached now: the write must clear it

    model_id = await _create_model(admin_client)
    page = await admin_client.get(f"/admin/catalog/models/{model_id}/edit?saved=1")
    assert page.status_code == 200 and "Saved." in page.text and "Acme Reasoner 2" in page.text

    listed = await admin_client.get("/api/v2/models", params={"vendor": "Acme"}, headers=api)
    assert listed.json()["total"] == 1
    model = (await admin_client.get(f"/api/v2/models/{model_id}", headers=api)).json()
    assert model["capabilities"] == {
        "streaming": True,
        "vision": False,
        "tool_calling": True,
        "json_output": False,
        "max_context_window": 131072,
        "max_output_tokens": None,
    }
    assert model["default_params"] == {"temperature": 0.3}
    assert model["release_date"].startswith("2026-11-02")
    assert (model["family"], model["version"], model["replaced_by"]) == ("Reasoner", "2", None)


async def test_a_refused_model_names_each_field_and_writes_nothing(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    before = await _count(session, BaseModel)
    refused = await admin_client.post(
        "/admin/catalog/models",
        data=_form(
            admin_client,
            **{
                **NEW_MODEL,
                "name": "",
                "max_context_window": "lots",
                "default_params": '{"temperature": 0.3, "seed": 7}',
                "release_date": "next week",
            },
        ),
    )
    assert refused.status_code == 422
    for name in ("name", "max_context_window", "default_params", "release_date"):
        assert f'id="f-{name}-error"' in refused.text, name
    assert "&#39;seed&#39; is not a supported parameter" in refused.text
    assert 'value="lots"' in refused.text  # what was typed is shown again
    bad_json = await admin_client.post(
        "/admin/catalog/models",
        data=_form(admin_client, **{**NEW_MODEL, "default_params": "{temperature: 1}"}),
    )
    assert bad_json.status_code == 422
    assert 'id="f-default_params-error"' in bad_json.text and "Not valid JSON" in bad_json.text
    taken = await admin_client.post(
        "/admin/catalog/models", data=_form(admin_client, **{**NEW_MODEL, "name": "GPT-4 Turbo"})
    )
    assert taken.status_code == 422 and 'id="f-name-error"' in taken.text
    assert await _count(session, BaseModel) == before


async def test_a_base_model_is_edited_in_full(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    model_id = await _create_model(admin_client)
    form = await admin_client.get(f"/admin/catalog/models/{model_id}/edit")
    assert 'name="tool_calling" value="on" checked' in form.text
    assert "&#34;temperature&#34;: 0.3" in form.text  # the JSON, escaped into its text area
    saved = await admin_client.post(
        f"/admin/catalog/models/{model_id}/edit",
        data=_form(
            admin_client,
            **{
                **NEW_MODEL,
                "name": "Acme Reasoner 2.1",
                "vision": "on",
                "tool_calling": "",
                "max_context_window": "",
                "max_output_tokens": "8192",
                "default_params": "",
                "deprecated": "on",
                "replaced_by": "Acme Reasoner 3",
            },
        ),
    )
    assert saved.status_code == 303, saved.text
    await session.rollback()
    row = await session.get(BaseModel, model_id)
    assert row is not None
    assert (
        row.name == "Acme Reasoner 2.1" and row.deprecated and row.replaced_by == "Acme Reasoner 3"
    )
    assert row.default_params is None
    assert row.capabilities["vision"] is True and row.capabilities["tool_calling"] is False
    assert row.capabilities.get("max_context_window") is None
    assert row.capabilities["max_output_tokens"] == 8192

    refused = await admin_client.post(
        f"/admin/catalog/models/{model_id}/edit",
        data=_form(admin_client, **{**NEW_MODEL, "vendor": "", "max_output_tokens": "0"}),
    )
    assert refused.status_code == 422
    assert (
        'id="f-vendor-error"' in refused.text and 'id="f-max_output_tokens-error"' in refused.text
    )
    await session.rollback()
    row = await session.get(BaseModel, model_id)
    assert row is not None and row.name == "Acme Reasoner 2.1" and row.vendor == "Acme"


# --- deployments -----------------------------------------------------------------------------
async def test_a_deployment_is_created_with_its_price_source_and_history(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    model_id = await _create_model(admin_client)
    together = await _provider(session, "together")
    dep_id = await _create_deployment(admin_client, model_id, together)
    api = await _api(admin_client)
    shown = (await admin_client.get(f"/api/v2/deployments/{dep_id}", headers=api)).json()
    assert (shown["cost_per_1m_input"], shown["cost_per_1m_output"]) == (0.8, 2.4)
    assert shown["price_source_kind"] == "operator"  # typed in by the admin
    assert shown["price_source_name"] == "Together pricing"
    assert shown["price_source_url"] == "https://www.together.ai/pricing"
    assert shown["price_as_of"] == "2026-12-01"
    assert shown["capabilities"]["vision"] is False
    assert shown["effective_capabilities"]["tool_calling"] is True  # the base model's
    assert shown["provider_config"] == {"regions": ["us-east-1"]}
    assert shown["custom_params"] == {"max_tokens": 2048}
    await session.rollback()
    history = list(
        await session.scalars(select(PriceHistory).where(PriceHistory.deployment_id == dep_id))
    )
    assert [(h.via, h.changed_by, h.new_input, h.source_name) for h in history] == [
        ("admin", ADMIN[0], 0.8, "Together pricing")
    ]
    prices = await admin_client.get(f"/models/{model_id}/prices")
    assert "Together pricing" in prices.text and "as of 2026-12-01" in prices.text


async def test_a_refused_deployment_names_each_field_and_writes_nothing(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    model_id = await _create_model(admin_client)
    together = await _provider(session, "together")
    before = (await _count(session, ModelDeployment), await _count(session, PriceHistory))
    refused = await admin_client.post(
        "/admin/catalog/deployments",
        data=_deployment_form(
            admin_client,
            model_id,
            together,
            inference_type="SOMETIMES",
            cost_per_1m_input="-1",
            price_source_url="ftp://prices.example",
            provider_config="[1, 2]",
            custom_params='{"top_p": 7}',
            vision="perhaps",
        ),
    )
    assert refused.status_code == 422
    for name in (
        "inference_type",
        "cost_per_1m_input",
        "price_source_url",
        "provider_config",
        "custom_params",
        "vision",
    ):
        assert f'id="f-{name}-error"' in refused.text, name
    unknown = await admin_client.post(
        "/admin/catalog/deployments",
        data=_deployment_form(admin_client, "no-such-model", together),
    )
    assert unknown.status_code == 422 and 'id="f-base_model_id-error"' in unknown.text
    await _create_deployment(admin_client, model_id, together)
    twice = await admin_client.post(
        "/admin/catalog/deployments", data=_deployment_form(admin_client, model_id, together)
    )
    assert twice.status_code == 422 and 'id="f-deployment_id-error"' in twice.text
    after = (await _count(session, ModelDeployment), await _count(session, PriceHistory))
    assert after == (before[0] + 1, before[1] + 1)  # the one accepted, nothing of the refused


async def _edit_form(client: httpx.AsyncClient, dep_id: str) -> dict[str, str]:
    """The edit form as the page fills it in (every input, select and text area)."""
    page = await client.get(f"/admin/catalog/deployments/{dep_id}/edit")
    assert page.status_code == 200
    html = page.text.split('aria-label="Deployment">', 1)[1].split("</form>", 1)[0]
    fields: dict[str, str] = {}
    for name, value in re.findall(
        r'<input id="f-[\w-]+" name="(\w+)" type="text" value="([^"]*)"', html
    ):
        fields[name] = value
    for name, body in re.findall(
        r'<select id="f-\w+" name="(\w+)"[^>]*>(.*?)</select>', html, re.S
    ):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        fields[name] = chosen.group(1) if chosen else ""
    for name, body in re.findall(
        r'<textarea id="f-\w+" name="(\w+)"[^>]*>(.*?)</textarea>', html, re.S
    ):
        fields[name] = body.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&")
    if re.search(r'name="is_active" value="on" checked', html):
        fields["is_active"] = "on"
    fields.update({k: v.replace("&amp;", "&") for k, v in fields.items()})
    return _form(client, **fields)


async def test_an_unchanged_form_changes_no_price_and_a_new_price_is_the_admins_entry(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    model_id = await _create_model(admin_client)
    together = await _provider(session, "together")
    dep_id = await _create_deployment(admin_client, model_id, together)
    form = await _edit_form(admin_client, dep_id)
    assert form["cost_per_1m_input"] == "0.8" and form["price_source_name"] == "Together pricing"
    same = await admin_client.post(f"/admin/catalog/deployments/{dep_id}/edit", data=form)
    assert same.status_code == 303, same.text
    await session.rollback()
    assert (
        len(
            list(
                await session.scalars(
                    select(PriceHistory).where(PriceHistory.deployment_id == dep_id)
                )
            )
        )
        == 1
    )

    # A new price, the old source left in the form: the admin's own entry, dated today.
    repriced = await admin_client.post(
        f"/admin/catalog/deployments/{dep_id}/edit",
        data={
            **form,
            "cost_per_1m_input": "0.9",
            "inference_type": "PROVISIONED",
            "max_output_tokens": "4096",
            "is_active": "",
        },
    )
    assert repriced.status_code == 303, repriced.text
    await session.rollback()
    row = await session.get(ModelDeployment, dep_id)
    assert row is not None
    assert (row.cost_per_1m_input, row.cost_per_1m_output) == (0.9, 2.4)
    assert row.price_source_kind is PriceSourceKind.OPERATOR and row.price_source_name is None
    assert row.price_as_of == utcnow().date()
    assert row.inference_type is InferenceType.PROVISIONED and not row.is_active
    assert row.capabilities == {"vision": False, "max_output_tokens": 4096}

    # A source given alone re-labels the price: no new price, a new history row.
    form = await _edit_form(admin_client, dep_id)
    relabelled = await admin_client.post(
        f"/admin/catalog/deployments/{dep_id}/edit",
        data={
            **form,
            "price_source_kind": "bundled",
            "price_source_name": "Together pricing",
            "price_source_url": "https://www.together.ai/pricing",
            "price_as_of": "2026-12-03",
        },
    )
    assert relabelled.status_code == 303, relabelled.text
    await session.rollback()
    history = list(
        await session.scalars(
            select(PriceHistory)
            .where(PriceHistory.deployment_id == dep_id)
            .order_by(PriceHistory.changed_at)
        )
    )
    assert [(h.new_input, h.source_kind, h.via) for h in history] == [
        (0.8, PriceSourceKind.OPERATOR, "admin"),
        (0.9, PriceSourceKind.OPERATOR, "admin"),
        (0.9, PriceSourceKind.BUNDLED, "admin"),
    ]
    assert history[-1].as_of.isoformat() == "2026-12-03"


async def test_a_refused_edit_changes_nothing(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    model_id = await _create_model(admin_client)
    together = await _provider(session, "together")
    dep_id = await _create_deployment(admin_client, model_id, together)
    form = await _edit_form(admin_client, dep_id)
    for bad, field in (
        ({"cost_per_1m_output": "cheap"}, "cost_per_1m_output"),
        ({"provider_config": '{"regions": '}, "provider_config"),
        ({"price_as_of": "01/12/2026", "cost_per_1m_input": "5"}, "price_as_of"),
        (
            {"cost_per_1m_input": "", "cost_per_1m_output": "", "price_source_name": "Somebody"},
            "price_source_kind",
        ),
        ({"deployment_id": ""}, "deployment_id"),
    ):
        refused = await admin_client.post(
            f"/admin/catalog/deployments/{dep_id}/edit",
            data={**form, **bad, "inference_type": "PROVISIONED"},
        )
        assert refused.status_code == 422, (bad, refused.text[-500:])
        assert f'id="f-{field}-error"' in refused.text, bad
    await session.rollback()
    row = await session.get(ModelDeployment, dep_id)
    assert row is not None
    assert (row.cost_per_1m_input, row.inference_type) == (0.8, InferenceType.ON_DEMAND)
    assert row.provider_config == {"regions": ["us-east-1"]}
    history = await session.scalar(
        select(func.count()).select_from(PriceHistory).where(PriceHistory.deployment_id == dep_id)
    )
    assert history == 1


async def test_a_secret_in_provider_config_is_never_shown_and_kept_when_sent_back(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    model_id = await _create_model(admin_client)
    together = await _provider(session, "together")
    secret = "tok-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
    dep_id = await _create_deployment(
        admin_client,
        model_id,
        together,
        provider_config=f'{{"api_token": "{secret}", "regions": ["us-east-1"]}}',
    )
    page = await admin_client.get(f"/admin/catalog/deployments/{dep_id}/edit")
    assert secret not in page.text and "***" in page.text
    form = await _edit_form(admin_client, dep_id)
    kept = await admin_client.post(
        f"/admin/catalog/deployments/{dep_id}/edit", data={**form, "cost_per_1m_output": "3"}
    )
    assert kept.status_code == 303, kept.text
    await session.rollback()
    row = await session.get(ModelDeployment, dep_id)
    assert row is not None and row.provider_config == {
        "api_token": secret,
        "regions": ["us-east-1"],
    }
    # Changed around the mask: refused by name, not stored as asterisks.
    changed = form["provider_config"].replace('"us-east-1"', '"eu-west-1"')
    refused = await admin_client.post(
        f"/admin/catalog/deployments/{dep_id}/edit", data={**form, "provider_config": changed}
    )
    assert refused.status_code == 422 and 'id="f-provider_config-error"' in refused.text
    assert "masked secret" in refused.text and secret not in refused.text


# --- providers -------------------------------------------------------------------------------
async def test_provider_settings_are_edited_through_the_api_schema(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    groq = await _provider(session, "groq")
    page = await admin_client.get(f"/admin/catalog/providers/{groq}/edit")
    assert page.status_code == 200 and "never shown here" in page.text
    fields = {
        "slug": "groq-eu",
        "name": "Groq EU",
        "base_url": "https://eu.api.groq.example/openai/v1?api_key=gsk_secret_value_123",
        "auth_type": "api_key",
        "is_active": "",
    }
    saved = await admin_client.post(
        f"/admin/catalog/providers/{groq}/edit", data=_form(admin_client, **fields)
    )
    assert saved.status_code == 303, saved.text
    page = await admin_client.get(f"/admin/catalog/providers/{groq}/edit")
    assert "gsk_secret_value_123" not in page.text and "api_key=***" in page.text
    # Sent back as shown: the stored URL stays, secret and all.
    masked = re.search(r'name="base_url" type="text" value="([^"]+)"', page.text)
    assert masked is not None
    again = await admin_client.post(
        f"/admin/catalog/providers/{groq}/edit",
        data=_form(
            admin_client,
            **{**fields, "base_url": masked.group(1).replace("&amp;", "&"), "is_active": "on"},
        ),
    )
    assert again.status_code == 303, again.text
    await session.rollback()
    row = await session.get(Provider, groq)
    assert row is not None
    assert (row.slug, row.name, row.is_active) == ("groq-eu", "Groq EU", True)
    assert row.base_url == fields["base_url"]
    for bad, field in (
        ({"base_url": "groq.example"}, "base_url"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"slug": "openai"}, "slug"),
        ({"auth_type": "password"}, "auth_type"),
        ({"name": ""}, "name"),
    ):
        refused = await admin_client.post(
            f"/admin/catalog/providers/{groq}/edit",
            data=_form(admin_client, **{**fields, **bad}),
        )
        assert refused.status_code == 422 and f'id="f-{field}-error"' in refused.text, bad
    await session.rollback()
    row = await session.get(Provider, groq)
    assert row is not None and row.slug == "groq-eu" and row.name == "Groq EU"


# --- deletes ---------------------------------------------------------------------------------
async def test_deleting_a_model_asks_first_and_says_what_goes_with_it(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    model_id = await _create_model(admin_client)
    together = await _provider(session, "together")
    dep_id = await _create_deployment(admin_client, model_id, together)
    await _create_deployment(
        admin_client, model_id, together, deployment_id="acme/reasoner-2-turbo"
    )
    await session.rollback()
    deployment = await session.get(ModelDeployment, dep_id)
    assert deployment is not None
    await make_certification(session, deployment=deployment, region="us-east-1")
    await make_certification(session, deployment=deployment, region="eu-west-1")

    confirm = await admin_client.get(f"/admin/catalog/models/{model_id}/delete")
    assert confirm.status_code == 200
    impact = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", confirm.text))
    assert "2 deployments: together · acme/reasoner-2, together · acme/reasoner-2-turbo" in impact
    assert "2 certifications" in impact and "2 price history entries" in impact

    unconfirmed = await admin_client.post(
        f"/admin/catalog/models/{model_id}/delete", data=_form(admin_client)
    )
    assert unconfirmed.status_code == 422 and "nothing was deleted" in unconfirmed.text
    await session.rollback()
    assert await session.get(BaseModel, model_id) is not None

    deleted = await admin_client.post(
        f"/admin/catalog/models/{model_id}/delete", data=_form(admin_client, confirm="on")
    )
    assert deleted.status_code == 303
    assert deleted.headers["location"] == "/admin/catalog/models?deleted=Acme%20Reasoner%202"
    await session.rollback()
    assert await session.get(BaseModel, model_id) is None
    left = await session.scalar(
        select(func.count())
        .select_from(ModelDeployment)
        .where(ModelDeployment.base_model_id == model_id)
    )
    certs = await session.scalar(
        select(func.count())
        .select_from(ModelCertification)
        .where(ModelCertification.deployment_id == dep_id)
    )
    assert (left, certs) == (0, 0)
    api = await _api(admin_client)
    assert (await admin_client.get(f"/api/v2/models/{model_id}", headers=api)).status_code == 404
    gone = await admin_client.get(f"/admin/catalog/models/{model_id}/delete")
    assert gone.status_code == 404


async def test_deleting_a_deployment_asks_first(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    model_id = await _create_model(admin_client)
    together = await _provider(session, "together")
    dep_id = await _create_deployment(admin_client, model_id, together)
    api = await _api(admin_client)
    assert (await admin_client.get(f"/api/v2/deployments/{dep_id}", headers=api)).status_code == 200
    confirm = await admin_client.get(f"/admin/catalog/deployments/{dep_id}/delete")
    assert confirm.status_code == 200 and "together · acme/reasoner-2" in confirm.text
    refused = await admin_client.post(
        f"/admin/catalog/deployments/{dep_id}/delete", data=_form(admin_client, confirm="")
    )
    assert refused.status_code == 422
    assert (await admin_client.get(f"/api/v2/deployments/{dep_id}", headers=api)).status_code == 200
    deleted = await admin_client.post(
        f"/admin/catalog/deployments/{dep_id}/delete", data=_form(admin_client, confirm="on")
    )
    assert deleted.status_code == 303
    assert (await admin_client.get(f"/api/v2/deployments/{dep_id}", headers=api)).status_code == 404
    await session.rollback()
    assert await session.get(BaseModel, model_id) is not None  # the model stays


# --- who may ---------------------------------------------------------------------------------
async def test_a_user_gets_403_everywhere_and_changes_nothing(
    user_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    deployment = await session.scalar(select(ModelDeployment).limit(1))
    assert deployment is not None
    dep_id, model_id, provider_id = deployment.id, deployment.base_model_id, deployment.provider_id
    before = (await _count(session, BaseModel), await _count(session, ModelDeployment))
    gets = [
        "/admin/catalog/models",
        "/admin/catalog/models/new",
        f"/admin/catalog/models/{model_id}/edit",
        f"/admin/catalog/models/{model_id}/delete",
        "/admin/catalog/deployments/new",
        f"/admin/catalog/deployments/{dep_id}/edit",
        f"/admin/catalog/deployments/{dep_id}/delete",
        f"/admin/catalog/providers/{provider_id}/edit",
    ]
    for path in gets:
        assert (await user_client.get(path)).status_code == 403, path
    posts = {
        "/admin/catalog/models": NEW_MODEL,
        f"/admin/catalog/models/{model_id}/edit": {**NEW_MODEL, "name": "Mine now"},
        f"/admin/catalog/models/{model_id}/delete": {"confirm": "on"},
        "/admin/catalog/deployments": {
            "base_model_id": model_id,
            "provider_id": provider_id,
            "deployment_id": "x",
        },
        f"/admin/catalog/deployments/{dep_id}/edit": {"deployment_id": "y"},
        f"/admin/catalog/deployments/{dep_id}/delete": {"confirm": "on"},
        f"/admin/catalog/providers/{provider_id}/edit": {"slug": "mine", "name": "Mine"},
    }
    for path, fields in posts.items():
        assert (
            await user_client.post(path, data=_form(user_client, **fields))
        ).status_code == 403, path
    assert (await _count(session, BaseModel), await _count(session, ModelDeployment)) == before
    await session.rollback()
    row = await session.get(ModelDeployment, dep_id)
    assert row is not None and row.deployment_id == deployment.deployment_id


async def test_a_post_without_its_csrf_token_is_refused(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    before = await _count(session, BaseModel)
    refused = await admin_client.post("/admin/catalog/models", data=NEW_MODEL)
    assert refused.status_code == 403
    assert await _count(session, BaseModel) == before


# --- regional prices -------------------------------------------------------------------------
async def test_a_regional_price_is_set_with_its_source_and_removed(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    model_id = await _create_model(admin_client)
    together = await _provider(session, "together")
    dep_id = await _create_deployment(admin_client, model_id, together)
    url = f"/admin/catalog/deployments/{dep_id}/prices"
    for bad, field in (
        ({"region": "EU West"}, "region"),
        ({"cost_per_1m_output": ""}, "cost_per_1m_output"),
        ({"price_source_url": "mailto:x@example.com"}, "price_source_url"),
        ({"price_source_kind": "rumour"}, "price_source_kind"),
    ):
        fields = {"region": "eu", "cost_per_1m_input": "1.1", "cost_per_1m_output": "3", **bad}
        refused = await admin_client.post(url, data=_form(admin_client, **fields))
        assert refused.status_code == 422, bad
        assert f'id="f-r-{field}-error"' in refused.text, bad
    await session.rollback()
    assert (
        await session.scalar(
            select(func.count())
            .select_from(DeploymentPrice)
            .where(DeploymentPrice.deployment_id == dep_id)
        )
        == 0
    )

    saved = await admin_client.post(
        url,
        data=_form(
            admin_client,
            region="EU",
            cost_per_1m_input="1.1",
            cost_per_1m_output="3.3",
            price_source_name="Together EU pricing",
            price_source_url="https://www.together.ai/pricing#eu",
        ),
    )
    assert saved.status_code == 303, saved.text
    page = await admin_client.get(f"/admin/catalog/deployments/{dep_id}/edit")
    assert "Together EU pricing" in page.text and "<strong>eu</strong>" in page.text
    api = await _api(admin_client)
    prices = (await admin_client.get(f"/api/v2/deployments/{dep_id}/prices", headers=api)).json()
    assert [
        (r["region"], r["cost_per_1m_output"], r["source_kind"]) for r in prices["regional"]
    ] == [("eu", 3.3, "operator")]
    assert (prices["history"][0]["region"], prices["history"][0]["via"]) == ("eu", "admin")

    removed = await admin_client.post(f"{url}/eu/delete", data=_form(admin_client))
    assert removed.status_code == 303
    prices = (await admin_client.get(f"/api/v2/deployments/{dep_id}/prices", headers=api)).json()
    assert prices["regional"] == []
    assert (prices["history"][0]["region"], prices["history"][0]["new_input"]) == ("eu", None)
    again = await admin_client.post(f"{url}/eu/delete", data=_form(admin_client))
    assert again.status_code == 404


async def test_a_model_saved_unchanged_keeps_its_release_time_and_params(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    model_id = await _create_model(
        admin_client,
        release_date="2026-11-02T15:30:00Z",
        default_params='{"stop": ["sk-not-a-key-but-looks-like-one-0123456789"]}',
    )
    page = await admin_client.get(f"/admin/catalog/models/{model_id}/edit")
    assert 'name="release_date" type="text" value="2026-11-02T15:30:00Z"' in page.text
    shown = re.search(r'name="default_params"[^>]*>(.*?)</textarea>', page.text, re.S)
    assert shown is not None and "***" not in shown.group(1)
    params = shown.group(1).replace("&#34;", '"')
    saved = await admin_client.post(
        f"/admin/catalog/models/{model_id}/edit",
        data=_form(
            admin_client,
            **{**NEW_MODEL, "release_date": "2026-11-02T15:30:00Z", "default_params": params},
        ),
    )
    assert saved.status_code == 303, saved.text
    await session.rollback()
    row = await session.get(BaseModel, model_id)
    assert row is not None and row.release_date is not None
    assert (row.release_date.hour, row.release_date.minute) == (15, 30)
    assert row.default_params == {"stop": ["sk-not-a-key-but-looks-like-one-0123456789"]}
