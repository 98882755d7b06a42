"""`/models/search`: find deployments by constraints, the search form of /models (issue 27).

The form on /models sends its constraints here: htmx swaps the answer's results into the
page; without script the browser opens this page, the form filled in above its results. The
search is `catalog/search.py`, as for the API and `myia models find`; a bad constraint is
shown next to its field, and nothing is searched.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from myia.api.deps import CacheDep, SessionDep, SettingsDep
from myia.catalog.schemas import CAPABILITY_FLAGS
from myia.catalog.search import search_deployments
from myia.catalog.search_schemas import (
    BADGE_ORDER,
    GEOGRAPHIES,
    DeploymentSearch,
    DeploymentSearchResults,
)
from myia.db.enums import InferenceType
from myia.web.deps import SignedIn
from myia.web.templating import render

router = APIRouter()

# The form's fields (what the page reads of the query string; anything else is ignored, as
# on every page: links may carry other parameters).
_FIELDS = (
    "region", "geography", "min_context", "max_input_price", "max_output_price", "min_badge",
    "provider", "vendor", "inference_type", "input_tokens", "output_tokens", "page",
)  # fmt: skip
# Bounded like any list a user sends (more is refused, not cut short).
_MAX_CAPABILITIES = 4 * len(CAPABILITY_FLAGS)


def search_form_context(form: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the search section needs to render (on /models, an empty form; here, as sent)."""
    return {
        "found": None,
        "search_errors": {},
        "search_pages": {},
        "search_form": form or {"capability": [], "certified_only": True},
        "search_choices": {
            "capabilities": CAPABILITY_FLAGS,
            "geographies": GEOGRAPHIES,
            "badges": BADGE_ORDER,
            "inference_types": [kind.value for kind in InferenceType],
        },
    }


def _form(request: Request) -> dict[str, Any]:
    query = request.query_params
    # Not cut short: a value too long is refused by the search's own bounds, by name.
    form: dict[str, Any] = {name: query.get(name, "").strip() for name in _FIELDS}
    form["capability"] = query.getlist("capability")
    # A checkbox sends nothing when unticked: the form says it was sent with `searched`.
    form["certified_only"] = query.get("certified") == "true" or not query.get("searched")
    return form


def _constraints(form: dict[str, Any]) -> DeploymentSearch:
    values: dict[str, Any] = {name: form[name] for name in _FIELDS if form[name]}
    values["capability"] = form["capability"]
    values["certified"] = form["certified_only"]
    return DeploymentSearch(**values)


def _pages(request: Request, found: DeploymentSearchResults) -> dict[str, str]:
    """Links to the pages before and after this one: the same query, another page."""

    def link(page: int) -> str:
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
        return "/models/search?" + urlencode([*query, ("page", str(page))])

    pages: dict[str, str] = {}
    if found.page > 1:
        pages["previous"] = link(found.page - 1)
    if found.page * found.page_size < found.total:
        pages["next"] = link(found.page + 1)
    return pages


def _errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "search"
        errors.setdefault(field, str(error["msg"]))
    return errors


@router.get("/models/search")
async def models_search_page(
    request: Request, viewer: SignedIn, session: SessionDep, cache: CacheDep, settings: SettingsDep
) -> Response:
    form = _form(request)
    found: DeploymentSearchResults | None = None
    errors: dict[str, str] = {}
    if request.query_params.get("searched"):
        search: DeploymentSearch | None = None
        try:
            search = _constraints(form)
        except ValidationError as exc:
            errors = _errors(exc)
        if len(form["capability"]) > _MAX_CAPABILITIES:
            errors["capability"] = f"At most {_MAX_CAPABILITIES} values"
        if search is not None and not errors:
            found = await search_deployments(session=session, cache=cache, search=search)
    context = search_form_context(form)
    context.update(found=found, search_errors=errors)
    if found is not None:
        context["search_pages"] = _pages(request, found)
    partial = bool(request.headers.get("hx-request"))
    template = "models_search_section.html" if partial else "models_search.html"
    return render(request, settings, template, viewer, **context)
