"""`/` (where to go), `/login` and `/logout`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from myia.api.deps import SessionDep, SettingsDep, StateDep
from myia.auth.login import login_with_password
from myia.auth.sessions import revoke_sessions
from myia.auth.throttle import TooManyAttemptsError
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
    request: Request, form: CheckedForm, session: SessionDep, state: StateDep
) -> Response:
    """The same throttled login as the API's (auth/login.py): while throttled, 429 with
    Retry-After and the wait on the page, the right password refused too."""
    settings = state.settings
    email, password = field(form, "email"), form.get("password")
    target = _safe_next(field(form, "next"))
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = "Enter your email."
    if not isinstance(password, str) or not password:
        errors["password"] = "Enter your password."
    if not errors:
        try:
            user = await login_with_password(
                session=session,
                throttle=state.login_throttle,
                email=email,
                password=str(password),
                address=request.client.host if request.client else None,
            )
        except TooManyAttemptsError as exc:
            errors["password"] = (
                f"Too many failed logins: try again in {exc.retry_after_s} seconds."
            )
            throttled = render(
                request,
                settings,
                "login.html",
                status_code=429,
                next=target,
                email=email,
                errors=errors,
            )
            throttled.headers["Retry-After"] = str(exc.retry_after_s)
            return throttled
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
async def logout(
    _form: CheckedForm, viewer: OptionalViewer, session: SessionDep, state: StateDep
) -> Response:
    """Ends the user's sessions server-side (every process, every browser and bearer token of
    theirs: auth/sessions.py), not only this browser's cookie: a copy of it stops working."""
    if viewer.user is not None:
        await revoke_sessions(session=session, cache=state.catalog_cache, user_id=viewer.user.id)
        log.info("web logout", signed_out_user_id=viewer.user.id)
    response = RedirectResponse("/login", status_code=303)
    end_session(response)
    return response
