"""Catalog list pages as JSON bytes, the way the API sends them (issue 22).

A page of 50 base models carries ~1,500 certification badges. Validating each as a
`CertificationBadge` and caching the page as objects made a cold page cost tens of
milliseconds of CPU and left thousands of objects per cached page for the garbage collector
to walk. Here everything but the badges is validated by the page's response model, as
before (defaults, known capability keys, types), and the badges — built by `badges.badge_of`
from typed columns, in `CertificationBadge`'s field order — go into the dumped page as they
are. The bytes are what FastAPI's own serialisation of the validated page would send:
tests/catalog/test_list_pages.py checks that every answer is a fixed point of its model.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic_core import to_json

from myia.catalog.badges import Badge
from myia.catalog.filters import PageParams
from myia.catalog.schemas import Page

PageT = TypeVar("PageT", bound=Page[Any])


def page_total(filters: PageParams, found: int) -> int | None:
    """The total a page tells by itself: a page that is not full is the last one (or, empty
    on page 1, there is nothing); only a full or an empty later page needs a count."""
    if found < filters.page_size and (found or filters.offset == 0):
        return filters.offset + found
    return None


def _page(
    page_type: type[PageT], items: list[dict[str, Any]], total: int, page: int, page_size: int
) -> PageT:
    return page_type.model_validate(
        {"items": items, "total": total, "page": page, "page_size": page_size}
    )


def page_object(
    page_type: type[PageT],
    items: list[dict[str, Any]],
    badges: list[list[Badge]],
    *,
    total: int,
    page: int,
    page_size: int,
) -> PageT:
    """The page as validated objects (for in-process readers: the web UI, the CLI)."""
    for item, item_badges in zip(items, badges, strict=True):
        item["certifications"] = item_badges
    return _page(page_type, items, total, page, page_size)


def page_json(
    page_type: type[PageT],
    items: list[dict[str, Any]],
    badges: list[list[Badge]],
    *,
    total: int,
    page: int,
    page_size: int,
) -> bytes:
    """The page's JSON: validated without its badges, which are then put in as they are."""
    document = _page(page_type, items, total, page, page_size).model_dump()
    for item, item_badges in zip(document["items"], badges, strict=True):
        item["certifications"] = item_badges
    # As the response models serialise floats (`ser_json_inf_nan` "null"): a NaN rating is
    # `null`, never the invalid `NaN` to_json writes by default.
    return to_json(document, inf_nan_mode="null")
