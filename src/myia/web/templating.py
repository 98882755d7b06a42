"""Jinja2 templates and the one `render` every page goes through.

`render` adds what the base layout needs (user, theme, CSRF token, navigation) and sets the
CSRF cookie when the visitor had none yet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from myia.config import Settings
from myia.db.enums import UserRole
from myia.db.models import User
from myia.web.csrf import CSRF_FIELD, csrf_token, set_csrf_cookie
from myia.web.preferences import Preferences
from myia.web.session import cookie_is_secure

TEMPLATES_DIR = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

BADGE_STARS = {
    "PREMIUM": 5,
    "RECOMMENDED": 4,
    "FUNCTIONAL": 3,
    "LIMITED": 2,
    "UNSTABLE": 1,
    "FAILED": 0,
}


def usd(value: float | None, digits: int = 6) -> str:
    if value is None:
        return "—"
    return f"${value:,.{digits}f}".rstrip("0").rstrip(".") if value else "$0"


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %" if value <= 1 else f"{value:.0f} %"


def readable(value: Any, indent: int | None = None) -> str:
    """JSON for people (autoescaping still applies): no \\u0027 escapes, unlike tojson."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str, indent=indent)


def zip_self(values: Any) -> list[tuple[Any, Any]]:
    """Options whose value is also their label."""
    return [(v, v) for v in values]


templates.env.filters.update(
    usd=usd, when=when, ms=ms, percent=percent, zip_self=zip_self, readable=readable
)
templates.env.globals.update(BADGE_STARS=BADGE_STARS, CSRF_FIELD=CSRF_FIELD)


@dataclass(frozen=True)
class Viewer:
    """Who is looking, and how they like it."""

    user: User | None
    prefs: Preferences

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.role == UserRole.ADMIN


def render(
    request: Request,
    settings: Settings,
    template: str,
    viewer: Viewer | None = None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    viewer = viewer or Viewer(user=None, prefs=Preferences())
    context.update(
        viewer=viewer,
        csrf_token=csrf_token(request, settings.jwt_secret),
        demo=settings.mode == "demo",
        path=request.url.path,
    )
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    set_csrf_cookie(request, response, secure=cookie_is_secure(request, settings))
    return response
