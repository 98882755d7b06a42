"""Alembic environment: runs migrations over the async engine on SQLite or PostgreSQL."""

import asyncio
import threading

from alembic import context
from sqlalchemy.engine import Connection

import myia.db.models  # noqa: F401  (registers every table on Base.metadata)
from myia.db.base import Base
from myia.db.engine import create_engine

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs batch ALTERs
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


def _run_online() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no loop here: the common case (CLI, fixtures, worker threads)
        asyncio.run(_run_async())
        return
    # A caller inside an event loop (an async test): run ours on a thread of its own. Kept
    # to that case because every thread that dies after using the async engine leaves
    # greenlet state behind to be torn down later.
    error: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(_run_async())
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if error:
        raise error[0]


def _run_shared(connection: Connection) -> None:
    # Connection sharing (myia.db.migrate.upgrade_async): the caller's async engine runs us
    # through `run_sync`, on its own loop: no thread, no second loop.
    _run(connection)


if context.is_offline_mode():  # pragma: no cover - offline SQL generation
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
elif context.config.attributes.get("connection") is not None:
    _run_shared(context.config.attributes["connection"])
else:
    _run_online()
