"""`/` (where to go), `/login` and `/logout`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from myia.api.deps import SessionDep, SettingsDep
from myia.auth.service import authenticate
from myia.errors import AuthenticationError
from myia.observability.logging import get_logger
from myia.web.deps import CheckedForm, OptionalViewer, field
from myia.web.session import end_session, start_session
from myia.web.templating import render

router = APIRouter()
log = get_logger(__name__)


def _safe_next(target: str | None) -> str:
    """Only a local path: an open redirect to another site would be a phishing aid."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/chat"


@router.get("/")
async def home(viewer: OptionalViewer) -> Response:
    return RedirectResponse("/chat" if viewer.user else "/login", status_code=303)


@router.get("/login")
async def login_page(
    request: Request, settings: SettingsDep, viewer: OptionalViewer, next: str | None = None
) -> Response:
    if viewer.user is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, settings, "login.html", next=_safe_next(next), email="", errors={})


@router.post("/login")
async def login(
    request: Request, form: CheckedForm, session: SessionDep, settings: SettingsDep
) -> Response:
    email, password = field(form, "email"), form.get("password")
    target = _safe_next(field(form, "next"))
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = "Enter your email."
    if not isinstance(password, str) or not password:
        errors["password"] = "Enter your password."
    if not errors:
        try:
            user = await authenticate(session=session, email=email, password=str(password))
        except AuthenticationError:
            errors["password"] = "Wrong email or password."
        else:
            response = RedirectResponse(target, status_code=303)
            start_session(response, request, settings, user)
            log.info("web login", signed_in_user_id=user.id)
            return response
    return render(
        request, settings, "login.html", status_code=400, next=target, email=email, errors=errors
    )


@router.post("/logout")
async def logout(_form: CheckedForm) -> Response:
    response = RedirectResponse("/login", status_code=303)
    end_session(response)
    return response
