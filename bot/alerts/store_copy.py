"""Copy an incident store into another database: how an SQLite installation moves to PostgreSQL.

``k8s-chatops db copy --from URL --to URL`` runs it with the bot stopped.
Both stores are first brought up to the current schema (as the bot would at
start-up: the source may be a store an older release wrote), then every row
of every table is copied in one transaction, ids kept, so incidents keep
their Slack threads and pending posts stay pending. The target must hold no
incident-store rows yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, insert, select, text

from bot.alerts.store import Base, IncidentStore
from bot.database.connect import DatabaseError, parse_url, shown

BATCH = 500


@dataclass(frozen=True)
class CopyReport:
    source: str
    target: str
    rows: dict[str, int]  # table -> rows copied

    def describe(self) -> str:
        counted = ", ".join(f"{count} {table}" for table, count in self.rows.items())
        return f"copied {counted} from {self.source} to {self.target}"


def copy_store(source_url: str, target_url: str) -> CopyReport:
    """Copy every row of the store at ``source_url`` into the empty store at ``target_url``."""
    parsed = parse_url(source_url)
    if parsed == parse_url(target_url):
        raise DatabaseError("the source and the target of a copy are the same database")
    if parsed.get_backend_name() == "sqlite" and not (parsed.database and Path(parsed.database).is_file()):
        raise DatabaseError(f"there is no incident store at {shown(parsed)}")
    source = IncidentStore(source_url, migrate=True)
    target = IncidentStore(target_url, migrate=True)
    try:
        tables = Base.metadata.sorted_tables  # parents before the rows that refer to them
        with target.engine.begin() as into:
            occupied = [t.name for t in tables if into.execute(select(func.count()).select_from(t)).scalar_one()]
            if occupied:
                raise DatabaseError(
                    f"the target {shown(target_url)} already holds incident-store rows (in {', '.join(occupied)}): "
                    "refusing to copy over them"
                )
            rows: dict[str, int] = {}
            with source.engine.connect() as out:
                for table in tables:
                    copied = 0
                    key = list(table.primary_key.columns)
                    result = out.execute(select(table).order_by(*key))
                    while batch := result.fetchmany(BATCH):
                        into.execute(insert(table), [dict(row._mapping) for row in batch])
                        copied += len(batch)
                    rows[table.name] = copied
            if target.postgres:  # explicit ids leave the id sequences behind: move them past the copied rows
                for table in tables:
                    if "id" in table.columns and table.c.id.primary_key:
                        into.execute(text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table.name}"
                        ))
        return CopyReport(shown(source_url), shown(target_url), rows)
    finally:
        source.close()
        target.close()
