"""Dependencies of the pages: who is signed in, admin only, CSRF-checked form posts.

Signed-out visitors of a page are sent to /login; a signed-in non-admin on an admin page
gets 403. Both are exceptions the web app turns into responses (see `myia.web.errors`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from myia.api.deps import SettingsDep, StateDep
from myia.auth.service import get_user
from myia.db.enums import UserRole
from myia.errors import NotFoundError
from myia.web.csrf import verify_csrf
from myia.web.preferences import Preferences, get_preferences
from myia.web.session import session_claims
from myia.web.templating import Viewer


class LoginRequired(Exception):
    """The page needs a signed-in user."""


class AdminRequired(Exception):
    """The page needs the admin role; carries who asked, for the 403 page's layout."""

    def __init__(self, viewer: Viewer) -> None:
        super().__init__("admin role required")
        self.viewer = viewer


async def get_viewer(request: Request, state: StateDep) -> Viewer:
    """Its own short session: a page like /admin/health must not hold a connection while it
    checks that the database hands one out. A session whose version is no longer its user's
    (a logout, a password reset, a role change, a disabled account) is a signed-out visitor."""
    claims = session_claims(request, state.settings)
    if claims is None:
        return Viewer(user=None, prefs=Preferences())
    async with state.database.read_session() as session:
        try:
            user = await get_user(session=session, user_id=claims.user_id)
        except NotFoundError:
            return Viewer(user=None, prefs=Preferences())
        if not user.is_active or user.session_version != claims.session_version:
            return Viewer(user=None, prefs=Preferences())
        prefs = await get_preferences(session=session, user_id=user.id)
    return Viewer(user=user, prefs=prefs)


OptionalViewer = Annotated[Viewer, Depends(get_viewer)]


async def get_signed_in(viewer: OptionalViewer) -> Viewer:
    if viewer.user is None:
        raise LoginRequired()
    return viewer


SignedIn = Annotated[Viewer, Depends(get_signed_in)]


async def get_admin(viewer: SignedIn) -> Viewer:
    if viewer.user is None or viewer.user.role != UserRole.ADMIN:
        raise AdminRequired(viewer)
    return viewer


AdminViewer = Annotated[Viewer, Depends(get_admin)]


async def checked_form(request: Request, settings: SettingsDep) -> FormData:
    """The posted form, once its CSRF token checked out."""
    await verify_csrf(request, settings.jwt_secret)
    return await request.form()


CheckedForm = Annotated[FormData, Depends(checked_form)]


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""
