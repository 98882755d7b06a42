"""The redaction net: secret-named keys at any depth, and secret-shaped text anywhere."""

from __future__ import annotations

import pytest

from myia.credentials.crypto import decrypt_secrets, encrypt_secrets
from myia.observability.redaction import (
    MASK,
    forget_secrets,
    is_secret_key,
    mask_secret,
    redact,
    redact_text,
    register_secret,
    scrub,
)

AKID = "AKIAABCDEFGHIJKLMNOP"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJlLXZhbHVl"


def test_nested_dicts_and_lists() -> None:
    event = {
        "user": {"email": "a@b.c", "password": "hunter2", "settings": {"api_key": "k-1"}},
        "providers": [
            {"slug": "bedrock", "credentials": {"secret_access_key": "abc"}},
            {"slug": "openai", "headers": {"Authorization": "Bearer abc.def"}},
        ],
        "tags": ("x", f"using {AKID}"),
        "count": 3,
    }
    assert redact(event) == {
        "user": {"email": "a@b.c", "password": MASK, "settings": {"api_key": MASK}},
        "providers": [
            {"slug": "bedrock", "credentials": MASK},
            {"slug": "openai", "headers": {"Authorization": MASK}},
        ],
        "tags": ["x", f"using {MASK}"],
        "count": 3,
    }
    assert event["user"]["password"] == "hunter2"  # type: ignore[index]  # a copy, not in place


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("Authorization: Bearer abc.DEF-123_x", "abc.DEF-123_x"),
        ("auth header was bearer-less Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
        (f"boto3 used key {AKID} for us-east-1", AKID),
        ("temporary ASIAXYZXYZXYZXYZXYZ1 expired", "ASIAXYZXYZXYZXYZXYZ1"),
        ("openai said: Incorrect API key sk-proj-abcdEFGH1234_zz", "sk-proj-abcdEFGH1234_zz"),
        ("groq gsk_0123456789abcdefABCD rejected", "gsk_0123456789abcdefABCD"),
        (f"token {JWT} expired", JWT),
        ("GET /x?api_key=plainvalue123&page=2", "plainvalue123"),
        ('{"secret_access_key": "wJalrXUtnFEMI/K7MDENG"}', "wJalrXUtnFEMI/K7MDENG"),
        ("aws_session_token=FwoGZXIvYXdz+abc/def=", "FwoGZXIvYXdz+abc/def="),
        ("password: 'correct-horse'", "correct-horse"),
    ],
)
def test_secrets_in_free_text(text: str, hidden: str) -> None:
    redacted = redact_text(text)
    assert hidden not in redacted
    assert MASK in redacted
    assert redact({"message": text})["message"] == redacted


def test_free_text_keeps_what_is_not_secret() -> None:
    text = "GET /api/models?page=2 took 12 ms; max_tokens=256 input_tokens: 12"
    assert redact_text(text) == text
    assert redact_text("api_key=*** already masked") == "api_key=*** already masked"


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "PASSWD",
        "client_secret",
        "x-api-key",
        "apiKey",
        "access_token",
        "Cookie",
        "secret_access_key",
        "access_key_id",
        "encrypted_data",
        "credentials",
        "private_key",
    ],
)
def test_secret_keys(key: str) -> None:
    assert is_secret_key(key)
    assert redact({key: "value"}) == {key: MASK}


@pytest.mark.parametrize("key", ["credential_id", "token_type", "tokenizer", "email", "region"])
def test_keys_that_only_look_secret(key: str) -> None:
    assert not is_secret_key(key)


def test_numbers_and_empty_values_under_secret_keys_stay() -> None:
    event = {
        "input_tokens": 12,
        "max_tokens": 256,
        "token_ok": True,
        "password": None,
        "api_key": "",
        "secret_ratio": 0.5,
    }
    assert redact(event) == event


def test_bytes_are_scanned_as_text() -> None:
    assert redact(f"key={AKID}".encode()) == f"key={MASK}"


@pytest.mark.parametrize(
    ("value", "masked"),
    [("AKIAIOSFODNN7EXAMPLE", "***MPLE"), ("sk-12345", MASK), ("", MASK), ("123456789", "***6789")],
)
def test_mask_secret_shows_at_most_the_last_four(value: str, masked: str) -> None:
    assert mask_secret(value) == masked


def test_registered_secrets_are_masked_whatever_their_shape() -> None:
    forget_secrets()
    odd = "Qz7vLx2TTn4mXw9vP0aB3kRu"
    inner = "Qz7vLx2T"
    message = f"Incorrect API key provided: {odd}. Retry."
    assert scrub(message) == message  # unknown to the process: no format rule matches
    register_secret(odd, inner, "short", None)
    assert scrub(message) == f"Incorrect API key provided: {MASK}. Retry."  # longest first
    assert redact({"detail": message}) == {"detail": f"Incorrect API key provided: {MASK}. Retry."}
    assert scrub("short words stay") == "short words stay"  # under 8 characters: not kept


def test_the_credential_store_registers_what_it_encrypts_and_decrypts() -> None:
    forget_secrets()
    token = encrypt_secrets({"api_key": "first-odd-key-value"}, secret="s" * 20)
    assert scrub("first-odd-key-value") == MASK
    forget_secrets()
    decrypt_secrets(token, secret="s" * 20)
    assert scrub("quoted first-odd-key-value") == f"quoted {MASK}"
