"""Mask secrets before anything is logged, stored in `logs` or returned.

Three nets: values under a secret-sounding key are replaced whole; free text is scanned for
secrets with a recognisable shape (bearer tokens, JWTs, AWS access key ids, `sk-` keys,
`key=value` pairs with a secret-sounding key); and every secret value this process has held
(registered by the credential store when it encrypts or decrypts one, and by whoever builds a
provider connection) is masked wherever it appears, whatever its shape — a provider that
quotes a key in its error message is the case the format rules cannot catch. None of them
replaces not logging secrets at all.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

MASK = "***"
_SECRET_KEY = re.compile(
    r"(passw(or)?d|passphrase|secret|token(?!iz)|api[_-]?key|authorization|cookie|"
    r"access[_-]?key|encrypted|credential|private[_-]?key|signature)",
    re.IGNORECASE,
)
# Keys that match the pattern above but name an identifier or a kind, not a secret.
_NOT_SECRET_KEY = re.compile(r"^(\w+_)?(credential_ids?|token_type)$", re.IGNORECASE)
_SECRET_VALUE = re.compile(
    r"Bearer\s+[A-Za-z0-9._~+/=\-]+"
    r"|Basic\s+[A-Za-z0-9+/=]{8,}"
    r"|\beyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*"
    r"|\b(?:AKIA|ASIA)[A-Z0-9]{12,}\b"
    r"|\bsk-[A-Za-z0-9_\-]{8,}"
    r"|\bgsk_[A-Za-z0-9]{8,}"
)
# `api_key=…`, `"secret_access_key": "…"`, `?token=…` inside free text: keep the key, hide
# the value (unless it is a plain number, like `max_tokens=256`).
_SECRET_PAIR = re.compile(
    r"(?P<key>\b[\w\-]*(?:passw(?:or)?d|secret|token|api[_-]?key|access[_-]?key|credential)"
    r"[\w\-]*)(?P<sep>[\"']?\s*[:=]\s*[\"']?)"
    r"(?P<value>(?!\d+(?:\.\d+)?(?:[\s\"'&,;}]|$))[^\s\"'&,;}]+)",
    re.IGNORECASE,
)


# Shorter values are not registered: masking every "password" or "12345678" in free text would
# destroy messages, and a value that short is no secret worth the name.
MIN_REGISTERED_LENGTH = 8
_registry_lock = threading.Lock()
_registered: frozenset[str] = frozenset()
_registered_pattern: re.Pattern[str] | None = None


def register_secret(*values: str | None) -> None:
    """Remember secret values so `scrub`/`redact_text` mask them anywhere in text."""
    global _registered, _registered_pattern
    fresh = {v for v in values if v and len(v) >= MIN_REGISTERED_LENGTH} - _registered
    if not fresh:
        return
    with _registry_lock:
        _registered = _registered | fresh
        # Longest first: a key that contains another is masked whole.
        ordered = sorted(_registered, key=len, reverse=True)
        _registered_pattern = re.compile("|".join(re.escape(v) for v in ordered))


def register_secrets(values: Iterable[str | None]) -> None:
    register_secret(*values)


def forget_secrets() -> None:
    """Tests only: start from an empty registry."""
    global _registered, _registered_pattern
    with _registry_lock:
        _registered, _registered_pattern = frozenset(), None


def scrub(text: str) -> str:
    """`text` with every registered secret value masked (no format rules): for text a
    provider wrote, before it is stored or returned."""
    pattern = _registered_pattern
    return text if pattern is None else pattern.sub(MASK, text)


def mask_secret(value: str, visible: int = 4) -> str:
    """`AKIAEXAMPLE1234` -> `***1234`; values of 8 characters or fewer are fully masked."""
    if len(value) <= visible * 2:
        return MASK
    return MASK + value[-visible:]


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key)) and not _NOT_SECRET_KEY.match(key)


def redact_text(text: str) -> str:
    text = _SECRET_VALUE.sub(MASK, scrub(text))
    return _SECRET_PAIR.sub(
        lambda m: (
            m.group(0) if m.group("value") == MASK else f"{m.group('key')}{m.group('sep')}{MASK}"
        ),
        text,
    )


def redact(value: Any, key: str | None = None) -> Any:
    """Return a copy of `value` with secret-named keys masked and secret-looking text hidden.

    Numbers and booleans under a secret-sounding key stay (`input_tokens=12` is not a
    secret); anything else there is masked whole, containers included.
    """
    if (
        key is not None
        and is_secret_key(key)
        and value not in (None, "")
        and not isinstance(value, bool | int | float)
    ):
        return MASK
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes | bytearray):
        return redact_text(bytes(value).decode("utf-8", "replace"))
    return value
