"""Register, login, me: success and bad input."""

from __future__ import annotations

import httpx


async def test_register_login_me(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/api/auth/register",
        json={"email": "Ada@Example.com", "password": "lovelace", "name": "Ada"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "user"
    assert "password" not in created.text and "lovelace" not in created.text

    token = await client.post(
        "/api/auth/login", json={"email": "ada@example.com", "password": "lovelace"}
    )
    assert token.status_code == 200
    bearer = token.json()["access_token"]
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {bearer}"})
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com"


async def test_register_bad_input_names_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/auth/register", json={"email": "nope", "password": "x"})
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"email", "password"}


async def test_register_twice_is_a_conflict(client: httpx.AsyncClient) -> None:
    body = {"email": "dup@example.com", "password": "secret1"}
    assert (await client.post("/api/auth/register", json=body)).status_code == 201
    again = await client.post("/api/auth/register", json=body)
    assert again.status_code == 409
    assert again.json()["field"] == "email"


async def test_wrong_password_and_bad_tokens_are_401(client: httpx.AsyncClient) -> None:
    await client.post("/api/auth/register", json={"email": "b@example.com", "password": "secret1"})
    wrong = await client.post(
        "/api/auth/login", json={"email": "b@example.com", "password": "nope"}
    )
    assert wrong.status_code == 401
    assert (await client.get("/api/auth/me")).status_code == 401
    garbage = await client.get("/api/auth/me", headers={"Authorization": "Bearer not.a.jwt"})
    assert garbage.status_code == 401
    assert garbage.headers["www-authenticate"] == "Bearer"
