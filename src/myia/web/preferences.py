"""What every page needs of the user's settings (theme, default region), read-only.

A read that never writes (`myia.users.settings.get_user_settings` creates a missing row), so
the layout can load it on each page from a read session; changes go through that service.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.models import UserSettings

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
