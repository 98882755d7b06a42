"""The browser-hardening headers of every answer: pages, API, gateway, static files.

One pure ASGI layer, outermost in the app (src/myia/api/app.py), so the answers written in
front of FastAPI — the gateway's `/v1` fast path (api/routes/gateway.py), the cached catalog
reads (api/response_cache.py), the body-size refusals (api/body_limit.py) — carry them too.
The headers are precomputed tuples: per answer this layer costs a dict lookup on the path, a
scan of the answer's few headers for `cache-control` and a list extension.

- `Content-Security-Policy` (`PAGE_CSP`): scripts and styles from this origin only; no
  inline script, no inline event handler, no `eval` (the templates keep their logic in
  `static/app.js`; htmx runs with `allowEval: false` and without its inline indicator
  `<style>`, see base.html). Inline *style* is refused too: no template and no chart
  (`web/charts.py`, classes only) writes a `style` attribute, so `'unsafe-inline'` buys
  nothing for style-src either. JSON answers get the same policy: harmless there, and it
  disarms a JSON body some browser would sniff and render as HTML.
- Third-party UIs served by the app — FastAPI's `/docs` and `/redoc`, SAQ's dashboard under
  `/admin/queues` — are not ours to rewrite: they get `third_party_csp` (their CDN, the
  SHA-256 of their one inline bootstrap script, inline styles), still `frame-ancestors
  'none'`. No user-typed data is rendered by them as markup.
- `X-Frame-Options: DENY` (old browsers; `frame-ancestors 'none'` for the others),
  `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin` on every answer: no URL
  of ours reaches another site. Not `no-referrer`: under it a browser sends `Origin: null` on
  the pages' own form posts, which would defeat any same-origin check of a post.
- `Cache-Control: no-store` on every answer that does not set a policy of its own, except
  static files: pages show API keys once, masked credentials, chats; the API answers tokens
  and new keys. The SSE streams keep their `no-cache` (set where they are made).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'; object-src 'none'"
)
# Where FastAPI's documentation pages load Swagger UI and ReDoc from.
DOCS_CDN = "https://cdn.jsdelivr.net"
THIRD_PARTY_PREFIXES = ("/docs", "/redoc", "/admin/queues")
STATIC_PREFIX = "/static/"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)

_COMMON: tuple[tuple[bytes, bytes], ...] = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
_NO_STORE = (b"cache-control", b"no-store")


def script_hashes(html: str) -> list[str]:
    """CSP sources (`'sha256-…'`) for each inline `<script>` of a page."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]


def third_party_csp(inline_pages: Iterable[str]) -> str:
    """The policy of the third-party UIs, allowing exactly their inline bootstrap scripts."""
    hashes = sorted({h for html in inline_pages for h in script_hashes(html)})
    return (
        f"default-src 'self'; script-src 'self' {DOCS_CDN} {' '.join(hashes)}; "
        f"style-src 'self' 'unsafe-inline' {DOCS_CDN} https://fonts.googleapis.com; "
        "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
        "font-src 'self' https://fonts.gstatic.com; worker-src 'self' blob:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; "
        "object-src 'none'"
    )


def third_party_pages(app: FastAPI, queue_ui_mount: str) -> list[str]:
    """The pages with inline scripts that the app serves but does not write: FastAPI's
    Swagger UI and its OAuth2 redirect (built as FastAPI builds them, at root path ""), and
    SAQ's dashboard shell."""
    from saq.web.common import render as saq_shell

    pages = [saq_shell(root_path=queue_ui_mount), get_swagger_ui_oauth2_redirect_html().body]
    if app.openapi_url:
        pages.append(
            get_swagger_ui_html(
                openapi_url=app.openapi_url,
                title=f"{app.title} - Swagger UI",
                oauth2_redirect_url=app.swagger_ui_oauth2_redirect_url,
                init_oauth=app.swagger_ui_init_oauth,
                swagger_ui_parameters=app.swagger_ui_parameters,
            ).body
        )
    return [p if isinstance(p, str) else bytes(p).decode() for p in pages]


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, third_party_policy: str | None = None) -> None:
        self.app = app
        page = (b"content-security-policy", PAGE_CSP.encode())
        other = (b"content-security-policy", (third_party_policy or PAGE_CSP).encode())
        self._page = (*_COMMON, page)
        self._third_party = (*_COMMON, other)

    def _headers_for(self, path: str) -> tuple[tuple[tuple[bytes, bytes], ...], bool]:
        """The headers to add, and whether an answer without a cache policy gets no-store."""
        if path.startswith(THIRD_PARTY_PREFIXES):
            return self._third_party, not path.startswith("/admin/queues/static")
        return self._page, not path.startswith(STATIC_PREFIX)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added, no_store = self._headers_for(scope.get("path", ""))

        async def send_hardened(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if no_store and not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append(_NO_STORE)
                headers.extend(added)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_hardened)
