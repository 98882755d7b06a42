"""CSRF protection for every form: a signed double-submit token.

A random nonce lives in the `myia_csrf` cookie (HttpOnly, SameSite=Strict); pages embed
HMAC(secret, nonce, session) in every form (`csrf_token`) and in a meta tag htmx sends back
as the `X-CSRF-Token` header. Another site can neither read the page nor compute the HMAC, so
a post that does not carry it is refused with 403 before the handler runs.

`session` is a digest of the `myia_session` cookie as the request sends it (empty when signed
out): a token is bound to the session it was rendered in. Logging in starts a new session
cookie, so a token captured before login (on the login page, or planted with a known nonce
by someone who can set cookies for the site) is refused after it; logging out, or logging in
again, ends the tokens of the session before. The digest needs no database read, and knowing
the cookie it is made of would already be the whole session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from myia.web.session import SESSION_COOKIE

CSRF_COOKIE = "myia_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class CsrfError(Exception):
    """A state-changing request without a valid CSRF token."""


def _session_of(request: Request) -> str:
    """Which session the request belongs to: a digest of its session cookie, or ""."""
    cookie = request.cookies.get(SESSION_COOKIE)
    return hashlib.sha256(cookie.encode()).hexdigest() if cookie else ""


def _sign(nonce: str, session: str, secret: str) -> str:
    message = f"csrf:{nonce}:{session}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def csrf_nonce(request: Request) -> str:
    """The request's nonce, creating one (kept on request.state for the response)."""
    nonce = getattr(request.state, "csrf_nonce", None) or request.cookies.get(CSRF_COOKIE)
    if not nonce:
        nonce = secrets.token_urlsafe(32)
        request.state.csrf_new = True
    request.state.csrf_nonce = nonce
    return nonce


def csrf_token(request: Request, secret: str) -> str:
    return _sign(csrf_nonce(request), _session_of(request), secret)


def set_csrf_cookie(request: Request, response: Response, *, secure: bool) -> None:
    if getattr(request.state, "csrf_new", False):
        response.set_cookie(
            CSRF_COOKIE,
            request.state.csrf_nonce,
            httponly=True,
            samesite="strict",
            secure=secure,
            path="/",
        )


async def verify_csrf(request: Request, secret: str) -> None:
    nonce = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not nonce or not sent:
        raise CsrfError("missing or invalid CSRF token")
    expected = _sign(nonce, _session_of(request), secret)
    # As bytes: compare_digest raises on a str with non-ASCII characters (a 500, not a 403).
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfError("missing or invalid CSRF token")
