"""Argon2 password hashing (pwdlib's recommended parameters)."""

from __future__ import annotations

import secrets
from functools import lru_cache

from pwdlib import PasswordHash

_hasher = PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _hasher.verify(password, password_hash)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def burn_verification(password: str) -> None:
    """Spend the time a real verification takes, for an email with no account: otherwise
    the answer's speed tells which emails exist."""
    _hasher.verify(password, _dummy_hash())
