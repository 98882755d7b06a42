"""Encryption of stored provider secrets with a key derived from ENCRYPTION_SECRET.

Key derivation: HKDF-SHA256 over the UTF-8 secret with a fixed salt and info (below), 32
bytes, urlsafe-base64 encoded into a Fernet key. HKDF does not stretch a weak password, which
is why production refuses ENCRYPTION_SECRET shorter than 16 characters and the docs ask for a
random one. The salt and info are part of the storage format: changing them makes every stored
credential unreadable, so a new derivation needs a new `v2` label and a rotation.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from myia.errors import MyIAError
from myia.observability.redaction import register_secrets

KDF_SALT = b"myia.credentials.v1"
KDF_INFO = b"myia.credentials.fernet-key"


class CredentialDecryptionError(MyIAError):
    """Stored credentials cannot be decrypted with the configured secret(s).

    The message never carries the token or the secret: it ends up in logs and API errors.
    """

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "stored credentials cannot be decrypted with the current ENCRYPTION_SECRET "
            "(was it changed without `myia secrets rotate`?)"
        )


# Deriving is cheap, but the same secret is used for every request: keep one key per secret.
@lru_cache(maxsize=8)
def derive_key(secret: str) -> bytes:
    """The Fernet key (urlsafe base64 of 32 bytes) for `secret`."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=KDF_SALT, info=KDF_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode("utf-8")))


def build_cipher(secrets: str | Sequence[str]) -> MultiFernet:
    """A cipher that encrypts with the first secret and decrypts with any of them."""
    ordered = [secrets] if isinstance(secrets, str) else list(secrets)
    if not ordered:
        raise ValueError("at least one secret is needed")
    return MultiFernet([Fernet(derive_key(secret)) for secret in ordered])


def encrypt_secrets(data: Mapping[str, str], *, secret: str) -> str:
    """Encrypt a flat mapping of secret values into one Fernet token (ASCII text)."""
    # Every process that holds a plaintext secret registers it, so redaction masks it in any
    # provider text, log line or stored error, whatever its shape.
    register_secrets(data.values())
    payload = json.dumps(dict(data), separators=(",", ":"), sort_keys=True).encode("utf-8")
    return build_cipher(secret).encrypt(payload).decode("ascii")


def decrypt_secrets(token: str, *, secret: str | Sequence[str]) -> dict[str, str]:
    """Decrypt a token made by `encrypt_secrets`; several secrets may be tried (rotation)."""
    try:
        payload = build_cipher(secret).decrypt(token.encode("ascii"))
        data = json.loads(payload)
    except (InvalidToken, UnicodeError, ValueError):
        # `from None`: the chained exception would only add noise, never useful detail.
        raise CredentialDecryptionError() from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise CredentialDecryptionError("stored credentials are not in the expected format")
    register_secrets(data.values())
    return {str(k): v for k, v in data.items()}


def reencrypt(token: str, *, old_secret: str, new_secret: str) -> str:
    """The same secrets under `new_secret`; a token already under it is accepted too."""
    try:
        return build_cipher([new_secret, old_secret]).rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise CredentialDecryptionError() from None


def is_encrypted_with(token: str, *, secret: str) -> bool:
    try:
        Fernet(derive_key(secret)).decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True
