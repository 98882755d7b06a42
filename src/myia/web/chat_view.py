"""The chat page's model picker: each model a chat can use now, with its badge, region and
price — read from the routing table, so the picker offers exactly what chat can route to."""

from __future__ import annotations

from dataclasses import dataclass

from myia.catalog.cache import CatalogCache
from myia.db.engine import Database
from myia.db.types import utcnow
from myia.routing import route_table
from myia.routing.types import STREAMING


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


async def model_options(*, cache: CatalogCache, database: Database) -> list[ModelOption]:
    """Models with a current certification that proved streaming; the best-rated (then
    cheapest) certified deployment is the one described."""
    table = await route_table(cache=cache, database=database)
    now = utcnow()
    options: list[ModelOption] = []
    for entry in table.models.values():
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
