"""Move every stored credential from the current ENCRYPTION_SECRET to a new one.

All or nothing: every row is decrypted and re-encrypted in memory first, and the rows are
written in one transaction only when all of them decrypted. A row already under the new
secret (a rotation re-run before the restart) is left as it is, so re-running is safe.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from myia.config import secret_problem
from myia.credentials.crypto import CredentialDecryptionError, is_encrypted_with, reencrypt
from myia.db.models import UserProviderCredential
from myia.errors import InvalidInputError, MyIAError
from myia.observability.logging import get_logger

log = get_logger(__name__)

Progress = Callable[[int, int], None]


class RotationAbortedError(MyIAError):
    """Some rows do not decrypt with the current secret; nothing was changed."""

    def __init__(self, failed: int, total: int) -> None:
        super().__init__(
            f"{failed} of {total} stored credentials cannot be decrypted with the current "
            "ENCRYPTION_SECRET; nothing was changed"
        )
        self.failed = failed
        self.total = total


@dataclass(frozen=True)
class RotationReport:
    total: int
    reencrypted: int  # moved (or, in a dry run, would move) to the new secret
    already_new: int  # already under the new secret: left untouched
    dry_run: bool


def check_new_secret(*, current: str, new: str | None, variable: str) -> str:
    """The new secret if it is usable; InvalidInputError naming `variable` otherwise."""
    if not new:
        raise InvalidInputError(
            variable,
            f"{variable} is not set; export the new secret in it (it is read from the "
            "environment so that it never lands in the shell history)",
        )
    if new == current:
        raise InvalidInputError(
            variable, f"{variable} holds the current ENCRYPTION_SECRET; set a new secret in it"
        )
    problem = secret_problem(variable, new)
    if problem is not None:
        raise InvalidInputError(variable, problem)
    return new


async def _lock_credentials(session: AsyncSession) -> None:
    # Keep the app from writing a row under the old secret between our read and our commit.
    # SQLite needs nothing: a concurrent write makes our commit fail, which changes nothing.
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("LOCK TABLE user_provider_credentials IN SHARE ROW EXCLUSIVE MODE")
        )


async def rotate_credentials(
    *,
    session: AsyncSession,
    current_secret: str,
    new_secret: str,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> RotationReport:
    """Re-encrypt every row of user_provider_credentials under `new_secret`.

    Raises RotationAbortedError (nothing written) when any row does not decrypt with either
    secret. `progress(done, total)` is called after each row.
    """
    if not dry_run:
        await _lock_credentials(session)
    result = await session.execute(
        select(
            UserProviderCredential.id,
            UserProviderCredential.encrypted_data,
            UserProviderCredential.updated_at,
        ).order_by(UserProviderCredential.id)
    )
    rows = result.all()
    total = len(rows)
    changes: list[dict[str, object]] = []
    already_new = failed = 0
    for done, (row_id, token, updated_at) in enumerate(rows, start=1):
        if is_encrypted_with(token, secret=new_secret):
            already_new += 1
        else:
            try:
                new_token = reencrypt(token, old_secret=current_secret, new_secret=new_secret)
            except CredentialDecryptionError:
                failed += 1
            else:
                # updated_at is kept: it tells the owner when *they* last changed the value.
                changes.append(
                    {"id": row_id, "encrypted_data": new_token, "updated_at": updated_at}
                )
        if progress is not None:
            progress(done, total)
    if failed:
        await session.rollback()
        raise RotationAbortedError(failed, total)
    if dry_run or not changes:
        await session.rollback()
    else:
        await session.execute(update(UserProviderCredential), changes)
        await session.commit()
        log.info("credentials re-encrypted", reencrypted=len(changes), already_new=already_new)
    return RotationReport(
        total=total, reencrypted=len(changes), already_new=already_new, dry_run=dry_run
    )
