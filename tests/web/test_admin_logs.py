"""/admin/logs pages through the `logs` table by keyset, 100 lines at a time, and filters."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from myia.db.models import LogRecord
from myia.db.types import new_id, utcnow


async def test_older_pages_follow_the_newest_and_filters_apply(
    admin_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    now = utcnow()
    rows = [
        {"id": new_id(), "timestamp": now - timedelta(seconds=i), "level": "info",
         "message": f"page-line-{i:03d}", "request_id": "req-x" if i % 50 == 0 else None}
        for i in range(150)
    ]  # fmt: skip
    await session.execute(insert(LogRecord), rows)
    await session.commit()

    seen: list[str] = []
    url = "/admin/logs"
    for _ in range(5):
        page = await admin_client.get(url)
        assert page.status_code == 200
        seen += re.findall(r"page-line-\d{3}", page.text)
        older = re.search(r'<a rel="next" href="([^"]+)"', page.text)
        if older is None:
            break
        url = older.group(1).replace("&amp;", "&")
    # Newest first, every line once (the demo's own request lines are there too).
    assert seen == [f"page-line-{i:03d}" for i in range(150)]

    found = await admin_client.get("/admin/logs", params={"request_id": "req-x"})
    assert re.findall(r"page-line-\d{3}", found.text) == [
        "page-line-000", "page-line-050", "page-line-100"
    ]  # fmt: skip
    bad = await admin_client.get("/admin/logs", params={"level": "loud"})
    assert bad.status_code == 422 and 'id="f-level"' in bad.text and "level" in bad.text
    forged = await admin_client.get("/admin/logs", params={"before": "not-a-cursor"})
    assert forged.status_code == 422
