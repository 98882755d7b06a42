"""Key derivation, encryption round trip, wrong secrets and reading with several keys."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet

from myia.credentials.crypto import (
    CredentialDecryptionError,
    build_cipher,
    decrypt_secrets,
    derive_key,
    encrypt_secrets,
    is_encrypted_with,
    reencrypt,
)

OLD = "old-secret-0123456789abcdef"
NEW = "new-secret-fedcba9876543210"
SECRETS = {"access_key_id": "AKIAABCDEFGHIJKLMNOP", "secret_access_key": "x" * 40}


def test_derived_key_is_a_stable_fernet_key_per_secret() -> None:
    key = derive_key(OLD)
    assert key == derive_key(OLD)
    assert key != derive_key(NEW)
    assert len(base64.urlsafe_b64decode(key)) == 32
    Fernet(key)  # accepted as a Fernet key
    assert OLD.encode() not in key


def test_round_trip_and_ciphertext_hides_the_values() -> None:
    token = encrypt_secrets(SECRETS, secret=OLD)
    assert "AKIA" not in token and "x" * 10 not in token
    assert decrypt_secrets(token, secret=OLD) == SECRETS
    # Fernet tokens carry a random IV: the same secrets never give the same token.
    assert encrypt_secrets(SECRETS, secret=OLD) != token


def test_wrong_secret_is_a_domain_error_without_token_or_secret() -> None:
    token = encrypt_secrets(SECRETS, secret=OLD)
    with pytest.raises(CredentialDecryptionError) as info:
        decrypt_secrets(token, secret=NEW)
    message = str(info.value)
    assert "ENCRYPTION_SECRET" in message
    assert token not in message and NEW not in message and OLD not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize("garbage", ["", "not-a-token", "gAAAAA", "é"])
def test_garbage_tokens_are_a_domain_error(garbage: str) -> None:
    with pytest.raises(CredentialDecryptionError):
        decrypt_secrets(garbage, secret=OLD)


def test_a_token_that_is_not_a_mapping_of_strings_is_refused() -> None:
    token = build_cipher(OLD).encrypt(b'["a", "list"]').decode()
    with pytest.raises(CredentialDecryptionError, match="expected format"):
        decrypt_secrets(token, secret=OLD)


def test_several_secrets_read_old_and_new_tokens() -> None:
    old_token = encrypt_secrets(SECRETS, secret=OLD)
    new_token = encrypt_secrets(SECRETS, secret=NEW)
    for token in (old_token, new_token):
        assert decrypt_secrets(token, secret=[NEW, OLD]) == SECRETS
    with pytest.raises(ValueError):
        build_cipher([])


def test_reencrypt_moves_a_token_to_the_new_secret() -> None:
    old_token = encrypt_secrets(SECRETS, secret=OLD)
    moved = reencrypt(old_token, old_secret=OLD, new_secret=NEW)
    assert is_encrypted_with(moved, secret=NEW)
    assert not is_encrypted_with(moved, secret=OLD)
    assert decrypt_secrets(moved, secret=NEW) == SECRETS
    # Already under the new secret: accepted, still readable with the new one only.
    again = reencrypt(moved, old_secret=OLD, new_secret=NEW)
    assert decrypt_secrets(again, secret=NEW) == SECRETS
    with pytest.raises(CredentialDecryptionError):
        reencrypt(old_token, old_secret="a-third-secret-000000", new_secret=NEW)
