from __future__ import annotations

import httpx


async def test_health_reports_database_and_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health", headers={"X-Request-ID": "abc-123"})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["database"]["status"] == "up"
    assert response.headers["x-request-id"] == "abc-123"
    generated = await client.get("/api/health")
    assert len(generated.headers["x-request-id"]) == 32
