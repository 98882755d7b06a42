"""The settings page's view of gateway API keys.

The API-key service belongs to the gateway work; until it is in the tree this module says
so (`AVAILABLE = False`) and the page shows "not available yet" instead of a fake list.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

AVAILABLE = False


async def list_keys(*, session: AsyncSession, user_id: str) -> list[Any]:
    return []
