"""JWT bearer tokens: HS256, subject = user id, role carried for cheap checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import jwt

from myia.db.enums import UserRole
from myia.db.types import utcnow
from myia.errors import AuthenticationError

ALGORITHM = "HS256"


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    role: UserRole


def create_access_token(*, user_id: str, role: UserRole, secret: str, ttl_minutes: int) -> str:
    now = utcnow()
    payload = {
        "sub": user_id,
        "role": role.value,
        "iat": now,
        "exp": now + timedelta(minutes=ttl_minutes),
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode_access_token(token: str, *, secret: str) -> TokenClaims:
    try:
        payload = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]}
        )
        return TokenClaims(user_id=str(payload["sub"]), role=UserRole(payload.get("role", "user")))
    except (jwt.PyJWTError, ValueError) as exc:
        raise AuthenticationError("invalid or expired token") from exc
