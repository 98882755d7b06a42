"""The browser session: a signed JWT in an HttpOnly, SameSite cookie.

The same token format as the API's bearer tokens, so one secret covers both; its lifetime is
its own, `WEB_SESSION_TTL_MINUTES` (shorter than the API's `JWT_TTL_MINUTES` by default: see
`config.py`). It carries the user's session version like any token: a logout, a password
reset, a role change or disabling the account ends it (`auth.sessions`).

The cookie is `Secure` everywhere except plain http on a loopback address in a non-production
mode (the demo on http://127.0.0.1:8000), where a browser could not send it back otherwise on
some engines and nothing crosses a network.
"""

from __future__ import annotations

import ipaddress

from fastapi import Request, Response

from myia.auth.tokens import TokenClaims, create_access_token, decode_access_token
from myia.config import Settings
from myia.db.models import User
from myia.errors import AuthenticationError

SESSION_COOKIE = "myia_session"


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost" or host == "testclient":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cookie_is_secure(request: Request, settings: Settings) -> bool:
    """Secure unless plain http on loopback outside production."""
    if request.url.scheme == "https":
        return True
    local = _is_loopback(request.url.hostname) or request.url.hostname == "testserver"
    return not (local and settings.mode != "production")


def start_session(response: Response, request: Request, settings: Settings, user: User) -> None:
    token = create_access_token(
        user_id=user.id,
        role=user.role,
        secret=settings.jwt_secret,
        ttl_minutes=settings.web_session_ttl_minutes,
        session_version=user.session_version,
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.web_session_ttl_minutes * 60,
        httponly=True,
        samesite="lax",
        secure=cookie_is_secure(request, settings),
        path="/",
    )


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def session_claims(request: Request, settings: Settings) -> TokenClaims | None:
    """The session cookie's claims, or None (no cookie, bad signature or expired). Whether the
    session is still live (its user active, its version the user's) is for the caller, who
    reads the user: `web.deps.get_viewer`."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return decode_access_token(token, secret=settings.jwt_secret)
    except AuthenticationError:
        return None
