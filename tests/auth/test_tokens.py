"""Bearer tokens: a verified token is remembered until its `exp` (auth/tokens.py), never
past it, never under another secret, and a token changed by one character is a new token."""

from __future__ import annotations

import time

import jwt
import pytest

from myia.auth import tokens
from myia.auth.tokens import decode_access_token
from myia.errors import AuthenticationError

SECRET = "a-secret-of-enough-length-for-hs256-0123456789"


def _token(**claims: object) -> str:
    return jwt.encode({"sub": "u-1", "role": "user", **claims}, SECRET, algorithm="HS256")


def test_a_remembered_token_still_expires() -> None:
    token = _token(exp=time.time() + 1.5)
    assert decode_access_token(token, secret=SECRET).user_id == "u-1"
    assert decode_access_token(token, secret=SECRET).user_id == "u-1"  # remembered
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            decode_access_token(token, secret=SECRET)
        except AuthenticationError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("an expired token was still accepted")


def test_a_remembered_token_is_not_verified_under_another_secret() -> None:
    token = _token(exp=time.time() + 600)
    decode_access_token(token, secret=SECRET)
    with pytest.raises(AuthenticationError):
        decode_access_token(token, secret=SECRET + "-rotated")


def test_a_tampered_token_is_refused_after_the_genuine_one_was_remembered() -> None:
    token = _token(exp=time.time() + 600)
    decode_access_token(token, secret=SECRET)
    head, _, signature = token.split(".")
    forged = jwt.encode({"sub": "admin-1", "role": "admin", "exp": time.time() + 600}, "g" * 48)
    flipped = token[:-6] + ("B" if token[-6] == "A" else "A") + token[-5:]  # not a pad bit
    for bad in (f"{head}.{forged.split('.')[1]}.{signature}", flipped, token + "x"):
        with pytest.raises(AuthenticationError):
            decode_access_token(bad, secret=SECRET)


def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "_VERIFIED_MAX", 8)
    for n in range(50):
        decode_access_token(_token(exp=time.time() + 600, n=n), secret=SECRET)
        assert len(tokens._VERIFIED) <= 8
