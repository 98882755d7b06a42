"""JWT bearer tokens: HS256, subject = user id, role carried for cheap checks.

`sv` is the user's session version when the token was issued: a logout, a password reset, a
role change or a disabled account raises the user's version, and `auth.principal` refuses a
token whose version is no longer the user's. A token without `sv` (issued before the claim
existed) counts as version 0, the version every account starts with.
"""

from __future__ import annotations

import time
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
    session_version: int = 0


# Verified tokens, until their `exp`: checking the HMAC and parsing the JSON again on every
# request was a third of a cached catalog read's CPU (bench/load.py). Keyed by the secret
# too, so a token is never taken for verified under another secret. Bounded: when full it
# starts again (a verification costs ~40 µs; entries are ~1 KB).
_VERIFIED: dict[tuple[str, str], tuple[TokenClaims, float]] = {}
_VERIFIED_MAX = 4096


def create_access_token(
    *, user_id: str, role: UserRole, secret: str, ttl_minutes: int, session_version: int = 0
) -> str:
    """Pass the user's `session_version` (0 only for a user never revoked, as in tests)."""
    now = utcnow()
    payload = {
        "sub": user_id,
        "role": role.value,
        "sv": session_version,
        "iat": now,
        "exp": now + timedelta(minutes=ttl_minutes),
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode_access_token(token: str, *, secret: str) -> TokenClaims:
    key = (secret, token)
    known = _VERIFIED.get(key)
    if known is not None:
        if time.time() < known[1]:
            return known[0]
        del _VERIFIED[key]
    try:
        payload = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]}
        )
        version = payload.get("sv", 0)
        if not isinstance(version, int) or isinstance(version, bool):
            raise ValueError("sv must be an integer")
        claims = TokenClaims(
            user_id=str(payload["sub"]),
            role=UserRole(payload.get("role", "user")),
            session_version=version,
        )
        expires = float(payload["exp"])
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise AuthenticationError("invalid or expired token") from exc
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[key] = (claims, expires)
    return claims
