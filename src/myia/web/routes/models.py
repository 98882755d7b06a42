"""`/models`: the catalog with its certification matrix and the price comparison."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from myia.api.deps import CacheDep, SessionDep, SettingsDep
from myia.catalog.filters import MAX_PAGE_SIZE, PriceQuery, ProviderFilters
from myia.catalog.pricing import compare_prices
from myia.catalog.providers import list_providers
from myia.catalog.schemas import CAPABILITY_FLAGS, PriceComparison
from myia.certification.progress import running_certification
from myia.certification.scoring import Badge
from myia.errors import NotFoundError
from myia.web.catalog_view import all_deployments, certification_rows
from myia.web.deps import SignedIn
from myia.web.routes.models_search import search_form_context
from myia.web.templating import render

router = APIRouter()


def _tokens(raw: str | None, default: int) -> int | str:
    """The count, or the raw text when it is not one (shown back with an error)."""
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw.strip().replace(",", "").replace("_", ""))
    except ValueError:
        return raw


@router.get("/models")
async def models_page(
    request: Request,
    viewer: SignedIn,
    session: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
    vendor: str = "",
    capability: str = "",
    region: str = "",
    badge: str = "",
    model: str = "",
    input_tokens: str | None = None,
    output_tokens: str | None = None,
) -> Response:
    capability = capability if capability in CAPABILITY_FLAGS else ""
    badge = badge if badge in {b.value for b in Badge} else ""
    regions = settings.default_regions
    region = region if region in regions else ""
    everything = await all_deployments(session=session, cache=cache)
    # One entry per vendor whatever its case ("meta" from a seed, "Meta" from discovery): the
    # filter ignores case, and the capitalised spelling reads better.
    spellings: dict[str, str] = {}
    for name in sorted({d.base_model.vendor for d in everything}):
        spellings.setdefault(name.lower(), name)
    vendors = sorted(spellings.values(), key=str.lower)
    vendor = spellings.get(vendor.lower(), vendor) if vendor else ""
    deployments = (
        await all_deployments(session=session, cache=cache, vendor=vendor, capability=capability)
        if vendor or capability
        else everything
    )
    providers = await list_providers(
        session=session, cache=cache, filters=ProviderFilters(page_size=MAX_PAGE_SIZE)
    )
    rows = await certification_rows(
        session=session,
        deployments=deployments,
        regions=[region] if region else regions,
        badge=badge or None,
        providers_regional={p.slug: p.auth_type for p in providers.items},
    )

    models = sorted({(d.base_model.id, d.base_model.name) for d in everything}, key=lambda m: m[1])
    errors: dict[str, str] = {}
    comparison: PriceComparison | None = None
    tokens_in, tokens_out = _tokens(input_tokens, 1000), _tokens(output_tokens, 1000)
    if model:
        try:
            # Priced as calls from the region filtered on, where it has its own price.
            query = PriceQuery.model_validate(
                {"input_tokens": tokens_in, "output_tokens": tokens_out, "region": region or None}
            )
        except ValidationError as exc:
            for error in exc.errors():
                errors[str(error["loc"][0])] = "Enter a whole number of tokens, 0 or more."
        else:
            try:
                comparison = await compare_prices(
                    session=session, cache=cache, model_id=model, query=query
                )
            except NotFoundError:
                errors["model"] = "Choose a model from the list."
    template = "models_prices.html" if request.headers.get("hx-request") else "models.html"
    return render(
        request,
        settings,
        template,
        viewer,
        rows=rows,
        certifying=await running_certification(session),
        regions=[region] if region else regions,
        regions_all=regions,
        vendors=vendors,
        capabilities=CAPABILITY_FLAGS,
        badges=[b.value for b in Badge],
        filters={"vendor": vendor, "capability": capability, "region": region, "badge": badge},
        models=models,
        model=model,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        comparison=comparison,
        errors=errors,
        **search_form_context(),
    )
