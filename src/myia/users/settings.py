"""A user's settings: theme, default region, enabled models.

The default region is the gateway's region preference for that user's calls. Enabled models
are base model ids: an empty list (the default), or no settings row at all, means every
model is enabled; a non-empty list means only those. They narrow that user's chat model
picker and `GET /v1/models` for their API keys, and a model outside the list is refused to
them by name (chat: the `model` field; /v1: 404 `model_not_found`, as an unknown model).
A listed model that is later deleted from the catalog simply matches nothing.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel as Schema
from pydantic import ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from myia.apikeys.service import API_KEYS
from myia.catalog.cache import CatalogCache
from myia.db.models import BaseModel, UserSettings
from myia.errors import InvalidInputError
from myia.validation import StrictInput

Theme = Literal["light", "dark", "system"]
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-\d+$|^global$"
MAX_ENABLED_MODELS = 500


class UserSettingsPublic(Schema):
    model_config = ConfigDict(from_attributes=True)

    theme: str = Field(examples=["dark"])
    default_region: str | None = Field(examples=["eu-west-1"])
    enabled_models: list[str] = Field(description="Base model ids; empty means every model")


class UserSettingsUpdate(StrictInput):
    """Only the fields sent change."""

    theme: Theme | None = None
    default_region: str | None = Field(default=None, max_length=50, pattern=REGION_PATTERN)
    enabled_models: list[str] | None = Field(default=None, max_length=MAX_ENABLED_MODELS)


async def _row(session: AsyncSession, user_id: str) -> UserSettings:
    row = await session.scalar(select(UserSettings).where(UserSettings.user_id == user_id))
    if row is None:  # accounts made before settings existed get the defaults on first use
        row = UserSettings(user_id=user_id, theme="light", default_region="us-east-1",
                           enabled_models=[])  # fmt: skip
        session.add(row)
        await session.flush()
    return row


async def get_user_settings(*, session: AsyncSession, user_id: str) -> UserSettingsPublic:
    row = await _row(session, user_id)
    await session.commit()
    return UserSettingsPublic.model_validate(row)


async def update_user_settings(
    *, session: AsyncSession, cache: CatalogCache, user_id: str, data: UserSettingsUpdate
) -> UserSettingsPublic:
    """Only the fields sent change. The gateway's cached key owners carry the default region
    and enabled models, so they are dropped in every process."""
    changes = data.model_dump(exclude_unset=True)
    if changes.get("theme", "") is None:
        raise InvalidInputError("theme", "may not be null")
    if "enabled_models" in changes:
        wanted = list(dict.fromkeys(changes["enabled_models"] or []))
        known = set(await session.scalars(select(BaseModel.id).where(BaseModel.id.in_(wanted))))
        unknown = [model_id for model_id in wanted if model_id not in known]
        if unknown:
            raise InvalidInputError("enabled_models", f"unknown base model id '{unknown[0]}'")
        changes["enabled_models"] = wanted
    row = await _row(session, user_id)
    for name, value in changes.items():
        setattr(row, name, value)
    await session.commit()
    await cache.invalidate_now(API_KEYS)
    return UserSettingsPublic.model_validate(row)


async def preferred_region(*, session: AsyncSession, user_id: str) -> str | None:
    """The user's default region, for the gateway's route choice (None: no preference)."""
    return await session.scalar(
        select(UserSettings.default_region).where(UserSettings.user_id == user_id)
    )


Enabled = frozenset[str] | None  # base model ids; None: every model


def enabled_set(stored: list[str] | None) -> Enabled:
    """The stored list as a set; None (every model) when empty or absent."""
    return frozenset(stored) if stored else None


def is_enabled(base_id: str, enabled: Enabled) -> bool:
    return enabled is None or base_id in enabled


async def enabled_models(*, session: AsyncSession, user_id: str) -> Enabled:
    """The user's enabled base models; None when every model is enabled."""
    stored = await session.scalar(
        select(UserSettings.enabled_models).where(UserSettings.user_id == user_id)
    )
    return enabled_set(stored)
