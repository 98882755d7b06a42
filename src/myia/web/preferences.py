"""A user's page preferences (theme, default region) in `user_settings`.

No service owned these two columns before the web UI; they are read on every page, so they
live next to it. Service style all the same: keyword-only, session in, domain errors out.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.certification.regions import unknown_regions
from myia.db.models import UserSettings
from myia.errors import InvalidInputError

THEMES = ("light", "dark", "system")


@dataclass(frozen=True)
class Preferences:
    theme: str = "system"
    default_region: str | None = None


async def get_preferences(*, session: AsyncSession, user_id: str) -> Preferences:
    row = await session.scalar(select(UserSettings).where(UserSettings.user_id == user_id))
    if row is None:
        return Preferences()
    return Preferences(theme=row.theme or "system", default_region=row.default_region)


async def update_preferences(
    *, session: AsyncSession, user_id: str, theme: str, default_region: str | None
) -> Preferences:
    if theme not in THEMES:
        raise InvalidInputError("theme", f"choose one of: {', '.join(THEMES)}")
    if default_region and unknown_regions([default_region]):
        raise InvalidInputError("default_region", f"unknown region: {default_region}")
    row = await session.scalar(select(UserSettings).where(UserSettings.user_id == user_id))
    if row is None:
        row = UserSettings(user_id=user_id)
        session.add(row)
    row.theme = theme
    row.default_region = default_region or None
    await session.commit()
    return Preferences(theme=theme, default_region=row.default_region)
