"""Engines for the incident store, and PostgreSQL's advisory locks.

One function builds every engine the bot uses, so that pool sizes, timeouts
and the checks that a pooled connection is still alive are the same for the
bot, ``k8s-chatops db`` and the tests. PostgreSQL is spoken through psycopg 3
whatever driver the URL names; ``postgres://`` is accepted for
``postgresql://``.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from bot.settings import ConfigError, Settings, StateConfig

APPLICATION_NAME = "k8s-chatops"
STORE_FILENAME = "incidents.sqlite3"  # in state_dir, when no database URL is configured
SQLITE_BUSY_SECONDS = 30  # a writer waits this long for another's lock before "database is locked"


class DatabaseError(ConfigError):
    """The store cannot be used as it is: unreachable, refused, or a schema this release will not touch."""


def parse_url(url: str) -> URL:
    """``url`` as SQLAlchemy reads it, PostgreSQL going through psycopg 3."""
    try:
        parsed = make_url(url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url)
    except ArgumentError:
        raise DatabaseError("the database URL cannot be read: expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE "
                            "or sqlite:///PATH") from None
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "sqlite":
        raise DatabaseError(f"{parsed.get_backend_name()} is not supported: PostgreSQL or SQLite")
    return parsed


def shown(url: str | URL) -> str:
    """The URL without its password, for messages and logs."""
    parsed = url if isinstance(url, URL) else parse_url(url)
    return parsed.render_as_string(hide_password=True)


def is_postgres(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "postgresql"


def create(url: str, options: StateConfig | None = None) -> Engine:
    """An engine for ``url``: a checked, bounded pool with timeouts on PostgreSQL; one file on SQLite."""
    options = options or StateConfig()
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        # Cycles run on the scheduler's threads and clicks on Slack's: one connection per thread, shared file.
        return create_engine(parsed, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS})
    milliseconds = int(options.statement_timeout_seconds * 1000)
    return create_engine(
        parsed,
        pool_pre_ping=True,  # a connection the server or a proxy closed is replaced, not handed to a query
        pool_size=options.pool_size,
        max_overflow=options.max_overflow,
        pool_timeout=options.pool_timeout_seconds,
        pool_recycle=1800,  # Cloud SQL's proxy and load balancers drop idle connections
        connect_args={
            "connect_timeout": options.connect_timeout_seconds,
            "application_name": APPLICATION_NAME,
            "options": f"-c statement_timeout={milliseconds} -c idle_in_transaction_session_timeout={milliseconds * 2}",
            # A server that vanished (a failed-over instance) is noticed within a minute, not at the kernel's leisure.
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        },
    )


def reachable(engine: Engine) -> None:
    """Connect once, or raise a DatabaseError that says where and why in one line."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (OperationalError, DBAPIError) as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        raise DatabaseError(f"the incident store at {shown(engine.url)} cannot be reached: {reason}") from None


def lock_key(name: str) -> int:
    """A stable 63-bit advisory lock key for ``name``, the same in every replica."""
    return zlib.crc32(f"k8s-chatops:{name}".encode()) | (0x6B38 << 32)


@contextmanager
def advisory_lock(engine: Engine, name: str, *, wait_seconds: float | None = None) -> Iterator[None]:
    """Hold PostgreSQL's session advisory lock ``name`` (on a connection of its own); nothing on SQLite.

    The lock belongs to that connection: when the process dies, the server
    releases it with the connection, so a killed replica never leaves it held.
    ``wait_seconds`` None waits as long as it takes.
    """
    if not is_postgres(engine):
        yield
        return
    key = lock_key(name)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        wait = "0" if wait_seconds is None else f"{int(wait_seconds * 1000)}ms"
        connection.execute(text(f"SET lock_timeout = '{wait}'"))
        connection.execute(text("SET statement_timeout = 0"))
        try:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        except OperationalError as exc:
            connection.invalidate()  # never back into the pool with this session's timeouts changed
            if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
                raise DatabaseError(
                    f"another replica held the {name} lock on {shown(engine.url)} for more than {wait_seconds:g} s"
                ) from None
            raise
        try:
            yield
        finally:
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.execute(text("RESET lock_timeout"))
                connection.execute(text("RESET statement_timeout"))
            except DBAPIError:  # the connection is gone, and the lock with it
                connection.invalidate()


def store_url(settings: Settings) -> str:
    """The store's URL from the settings: ``state.database_url``, else SQLite in ``state_dir`` (created)."""
    if settings.state.database_url is not None:
        return settings.state.database_url.get_secret_value()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{settings.state_dir / STORE_FILENAME}"
