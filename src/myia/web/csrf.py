"""CSRF protection for every form: a signed double-submit token.

A random nonce lives in the `myia_csrf` cookie (HttpOnly, SameSite=Strict); pages embed
HMAC(secret, nonce) in every form (`csrf_token`) and in a meta tag htmx sends back as the
`X-CSRF-Token` header. Another site can neither read the page nor compute the HMAC, so a
post that does not carry it is refused with 403 before the handler runs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

CSRF_COOKIE = "myia_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class CsrfError(Exception):
    """A state-changing request without a valid CSRF token."""


def _sign(nonce: str, secret: str) -> str:
    return hmac.new(secret.encode(), f"csrf:{nonce}".encode(), hashlib.sha256).hexdigest()


def csrf_nonce(request: Request) -> str:
    """The request's nonce, creating one (kept on request.state for the response)."""
    nonce = getattr(request.state, "csrf_nonce", None) or request.cookies.get(CSRF_COOKIE)
    if not nonce:
        nonce = secrets.token_urlsafe(32)
        request.state.csrf_new = True
    request.state.csrf_nonce = nonce
    return nonce


def csrf_token(request: Request, secret: str) -> str:
    return _sign(csrf_nonce(request), secret)


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
    if not nonce or not sent or not hmac.compare_digest(sent, _sign(nonce, secret)):
        raise CsrfError("missing or invalid CSRF token")
