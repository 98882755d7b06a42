"""The chat page's model picker: each model a chat can use now, with its badge, region and
price — read from the routing table, so the picker offers exactly what chat can route to —
and, while there is none, the certification that will bring some."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from myia.catalog.cache import CatalogCache
from myia.certification.progress import running_certification
from myia.db.engine import Database
from myia.db.types import utcnow
from myia.routing import route_table
from myia.routing.types import STREAMING
from myia.users.settings import Enabled, is_enabled


@dataclass(frozen=True)
class ModelOption:
    id: str
    name: str
    vendor: str
    badge: str | None
    rating: float
    region: str
    provider: str
    price_in: float | None
    price_out: float | None

    @property
    def label(self) -> str:
        price = (
            f"${self.price_in:g} / ${self.price_out:g} per 1M"
            if self.price_in is not None and self.price_out is not None
            else "price unknown"
        )
        badge = (self.badge or "certified").capitalize()
        return f"{self.name} — {badge} · {self.region} · {price}"


async def model_options(
    *, cache: CatalogCache, database: Database, enabled: Enabled = None
) -> list[ModelOption]:
    """Models with a current certification that proved streaming (of those the user enabled);
    the best-rated (then cheapest) certified deployment is the one described."""
    table = await route_table(cache=cache, database=database)
    now = utcnow()
    options: list[ModelOption] = []
    for entry in table.models.values():
        if not is_enabled(entry.base_id, enabled):
            continue
        best: ModelOption | None = None
        for deployment in entry.deployments:
            for cert in deployment.certifications:
                if not (cert.is_certified(now) and cert.proves(STREAMING)):
                    continue
                option = ModelOption(
                    id=entry.id,
                    name=entry.name,
                    vendor=entry.vendor,
                    badge=cert.badge,
                    rating=cert.rating or 0.0,
                    region=cert.region,
                    provider=deployment.provider.slug,
                    price_in=deployment.price_in,
                    price_out=deployment.price_out,
                )
                cheaper = (option.price_in or 0) + (option.price_out or 0)
                if (
                    best is None
                    or option.rating > best.rating
                    or (
                        option.rating == best.rating
                        and cheaper < (best.price_in or 0) + (best.price_out or 0)
                    )
                ):
                    best = option
        if best is not None:
            options.append(best)
    # Priced models first: a chat whose cost cannot be shown is the worse default.
    return sorted(options, key=lambda o: (o.price_in is None, -o.rating, o.name.lower()))


@dataclass(frozen=True)
class ChatReadiness:
    """What /chat (and /models) say while no model can answer yet: how many can, and the
    certification job that is making more (the demo's first start), if one runs."""

    models: int
    certifying: dict[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        return {"models": self.models, "certifying": self.certifying}


async def chat_readiness(
    *, session: AsyncSession, cache: CatalogCache, database: Database, enabled: Enabled = None
) -> ChatReadiness:
    options = await model_options(cache=cache, database=database, enabled=enabled)
    return ChatReadiness(models=len(options), certifying=await running_certification(session))


@dataclass(frozen=True)
class ModelChoice:
    """A base model a user can enable or disable for themselves (Settings → Models)."""

    id: str  # the base model's row id, what enabled_models stores
    slug: str  # its id on /v1 and in the chat's picker
    name: str
    vendor: str


async def model_choices(*, cache: CatalogCache, database: Database) -> list[ModelChoice]:
    """Every base model with an active deployment, by vendor then name."""
    table = await route_table(cache=cache, database=database)
    choices = [ModelChoice(e.base_id, e.id, e.name, e.vendor) for e in table.models.values()]
    return sorted(choices, key=lambda c: (c.vendor.lower(), c.name.lower()))
