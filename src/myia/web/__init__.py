"""The web UI: server-rendered pages (Jinja2 + htmx) in the same FastAPI app as the API."""

from __future__ import annotations

from myia.web.app import mount_web

__all__ = ["mount_web"]
