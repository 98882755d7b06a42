"""`/models/{id}/prices`: a model's prices with their sources and dates, and their history."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from myia.api.deps import SessionDep, SettingsDep
from myia.catalog.model_prices import model_prices
from myia.errors import NotFoundError
from myia.web.deps import SignedIn
from myia.web.templating import render

router = APIRouter()


@router.get("/models/{model_id}/prices")
async def model_prices_page(
    request: Request, model_id: str, viewer: SignedIn, session: SessionDep, settings: SettingsDep
) -> Response:
    try:
        prices = await model_prices(session=session, model_id=model_id[:36])
    except NotFoundError:
        return render(request, settings, "model_prices.html", viewer, status_code=404, prices=None)
    return render(request, settings, "model_prices.html", viewer, prices=prices)
