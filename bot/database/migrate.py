"""The incident store's schema, brought up to date by Alembic, one replica at a time.

``upgrade`` runs at start-up (and as ``k8s-chatops db upgrade``): under a
PostgreSQL advisory lock, so that two replicas starting together never
migrate at once (the second waits, then finds nothing to do). A store the
last release wrote has no version table: when its tables are that release's,
it is stamped with the baseline revision and migrated from there; anything
else is refused, as is a store at a revision this release does not know (a
newer release migrated it). Every refusal and failure is a ``DatabaseError``
whose message is one line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Connection, Engine

from bot.database.connect import DatabaseError, advisory_lock, shown

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001"
VERSION_TABLE = "alembic_version"
LOCK = "schema migration"


@dataclass(frozen=True)
class Status:
    """Where a store stands: its revision (None without a version table), and what this release would do."""

    current: str | None
    head: str
    known: bool  # this release has the current revision among its migrations
    empty: bool  # none of the store's tables exist yet
    problem: str | None = None  # why an unversioned store cannot be stamped, if it cannot

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    def describe(self) -> str:
        if self.up_to_date:
            return f"{self.current} (head)"
        if self.current is not None and not self.known:
            return f"{self.current}, a revision this release does not know (a newer release migrated it); head here is {self.head}"
        if self.current is not None:
            return f"{self.current}; `k8s-chatops db upgrade` migrates it to {self.head}"
        if self.empty:
            return f"empty; `k8s-chatops db upgrade` creates the schema at {self.head}"
        if self.problem:
            return f"not versioned, and not a store this release can take over: {self.problem}"
        return f"not versioned (written before migrations); `k8s-chatops db upgrade` stamps it {BASELINE} and migrates it to {self.head}"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str:
    heads = _script().get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {heads}")
    return heads[0]


def _known(revision: str) -> bool:
    return any(script.revision == revision for script in _script().walk_revisions())


@cache
def _columns_at(revision: str) -> dict[str, frozenset[str]]:
    """The tables and columns the migrations create up to ``revision``, read off a scratch SQLite database."""
    scratch = create_engine("sqlite://")
    try:
        with scratch.begin() as connection:
            command.upgrade(_config(connection), revision)
            inspector = inspect(connection)
            return {
                table: frozenset(column["name"] for column in inspector.get_columns(table))
                for table in inspector.get_table_names()
                if table != VERSION_TABLE
            }
    finally:
        scratch.dispose()


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _takeover_problem(connection: Connection) -> tuple[bool, str | None]:
    """(empty, problem) for a store without a version table: can it be stamped at the baseline?

    Its tables must be the baseline's, each with the baseline's columns, plus at
    most columns that later revisions add (builds between the release and
    the first migration added those on their own). Other tables in the same
    database (the last release's scheduler jobs, or anything else) are not ours
    and do not matter.
    """
    baseline, latest = _columns_at(BASELINE), _columns_at(head())
    inspector = inspect(connection)
    present = set(inspector.get_table_names()) & (set(baseline) | set(latest))
    if not present:
        return True, None
    missing = sorted(set(baseline) - present)
    if missing or present - set(baseline):
        return False, f"it has tables {', '.join(sorted(present))} but not {', '.join(missing) or 'only those of the release'}"
    for table in sorted(present):
        columns = {column["name"] for column in inspector.get_columns(table)}
        lacking = sorted(baseline[table] - columns)
        unknown = sorted(columns - latest.get(table, frozenset()) - baseline[table])
        if lacking or unknown:
            what = "; ".join(filter(None, [
                f"lacks {', '.join(lacking)}" if lacking else "",
                f"has unknown columns {', '.join(unknown)}" if unknown else "",
            ]))
            return False, f"table {table} {what}"
    return False, None


def status(engine: Engine) -> Status:
    with engine.connect() as connection:
        current = _current(connection)
        empty, problem = _takeover_problem(connection) if current is None else (False, None)
    return Status(current=current, head=head(), known=current is None or _known(current), empty=empty, problem=problem)


def upgrade(engine: Engine, *, lock_seconds: float | None = None) -> tuple[str | None, str]:
    """Migrate the store to the head revision; returns (revision before, revision after).

    Before is None for a store created now, and the baseline for one the last
    release wrote (stamped, then migrated).

    Raises DatabaseError, with one line saying why, when the store is refused
    or a migration fails; a failed migration on PostgreSQL leaves the schema
    as it was (its DDL runs in one transaction).
    """
    where = shown(engine.url)
    target = head()
    with advisory_lock(engine, LOCK, wait_seconds=lock_seconds):
        try:
            with engine.begin() as connection:
                before = _current(connection)
                if before == target:
                    return before, target
                if before is not None and not _known(before):
                    raise DatabaseError(
                        f"the incident store at {where} is at schema revision {before}, which this release does not "
                        f"know (a newer k8s-chatops migrated it): refusing to start; run that release or restore a backup"
                    )
                if before is None:
                    empty, problem = _takeover_problem(connection)
                    if problem is not None:
                        raise DatabaseError(
                            f"the incident store at {where} has no schema revision and is not one this release can "
                            f"take over ({problem}): refusing to migrate it"
                        )
                    if not empty:
                        command.stamp(_config(connection), BASELINE)
                        log.warning("incident store at %s: the last release's tables, stamped %s", where, BASELINE)
                        before = BASELINE
                command.upgrade(_config(connection), target)
        except DatabaseError:
            raise
        except Exception as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            raise DatabaseError(
                f"migrating the incident store at {where} to {target} failed: "
                f"{reason[0] if reason else type(exc).__name__}"
            ) from exc
    if before is None:
        log.info("incident store at %s created at %s", where, target)
    else:
        log.warning("incident store at %s migrated from %s to %s", where, before, target)
    return before, target


def require_current(engine: Engine) -> None:
    """Refuse a store that is not at the head revision (for when migrating at start-up is turned off)."""
    found = status(engine)
    if not found.up_to_date:
        raise DatabaseError(f"the incident store at {shown(engine.url)} is at {found.describe()}; refusing to start")
