"""Everything the alerting half must remember across restarts, in one database.

Incidents, their timelines, first-seen marks for grace periods, mutes and the
outbox of Slack posts live here rather than in memory, so a restarted (or a
newly elected) replica continues the same threads instead of opening new ones.
SQLite in ``state_dir`` by default; any SQLAlchemy URL works. The APScheduler
job store shares the database so one file holds all state.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    create_engine,
    delete,
    inspect,
    select,
)
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from bot.model.findings import Finding

STORE_FILENAME = "incidents.sqlite3"



@dataclass(frozen=True)
class MuteResult:
    """What a mute or unmute applied to, and until when."""

    target: str  # "incident #12" or a kind
    until: datetime | None


class UtcDateTime(TypeDecorator[datetime]):
    """SQLite forgets time zones; store naive UTC and hand back aware datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class Incident(Base):
    """One problem, one parent message, one thread: keyed by (cluster, kind, scope) while open."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cluster: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | resolved
    severity: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text, default="")
    fix: Mapped[str] = mapped_column(Text, default="")
    since: Mapped[datetime] = mapped_column(UtcDateTime)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel: Mapped[str] = mapped_column(String(64))
    parent_ts: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    parent_requested: Mapped[bool] = mapped_column(default=False)
    rendered_facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    posted_facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    clean_checks: Mapped[int] = mapped_column(Integer, default=0)
    # The highest severity it reached, and the highest the channel was told (a rise past it is broadcast).
    peak_severity: Mapped[str | None] = mapped_column(String(16), nullable=True)
    announced_severity: Mapped[str | None] = mapped_column(String(16), nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    muted_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    muted_by: Mapped[str | None] = mapped_column(String(64), nullable=True)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.cluster, self.kind, self.scope)

    def muted_at(self, now: datetime) -> bool:
        return self.muted_until is not None and self.muted_until > now


class IncidentEvent(Base):
    """A line of an incident's timeline: opened, changed, acknowledged, muted, resolved."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64), default="")
    text: Mapped[str] = mapped_column(Text, default="")


class FirstSeen(Base):
    """When a subject (a node, a VM, the API being down) was first seen in trouble."""

    __tablename__ = "first_seen"

    cluster: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class KindMute(Base):
    """Silence one kind of finding (on every cluster) until a time."""

    __tablename__ = "kind_mutes"

    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    until: Mapped[datetime] = mapped_column(UtcDateTime)
    by: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class OutboxEntry(Base):
    """A Slack call not yet delivered; replayed in id order until it is."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), nullable=True, index=True)
    method: Mapped[str] = mapped_column(String(32))  # parent | thread | update | channel
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")


def _add_missing_columns(engine: Engine) -> None:
    """Columns added since a database was created, added to it (nullable, so old rows stay valid)."""
    inspector = inspect(engine)
    for table in Base.metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present and column.nullable:
                kind = column.type.compile(dialect=engine.dialect)
                with engine.begin() as connection:
                    connection.exec_driver_sql(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}')


class IncidentStore:
    """Typed access to the tables; every method is one short transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        connect_args = {"check_same_thread": False} if url.startswith("sqlite") else {}
        self.engine: Engine = create_engine(url, connect_args=connect_args)
        Base.metadata.create_all(self.engine)
        _add_missing_columns(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def in_state_dir(cls, state_dir: Path) -> IncidentStore:
        state_dir.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{state_dir / STORE_FILENAME}")

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()

    # -- incidents -------------------------------------------------------------

    def open_incident(self, finding: Finding, channel: str, now: datetime) -> Incident:
        with self.session() as s:
            incident = Incident(
                cluster=finding.cluster,
                kind=finding.kind,
                scope=finding.scope,
                status="open",
                severity=finding.severity,
                title=finding.title,
                detail=finding.detail,
                fix=finding.fix,
                since=finding.since or now,
                opened_at=now,
                channel=channel,
                rendered_facts=dict(finding.facts),
                posted_facts={},
                peak_severity=finding.severity,
                clean_checks=0,
                parent_requested=False,
            )
            s.add(incident)
            s.flush()
            s.add(IncidentEvent(incident_id=incident.id, at=now, kind="opened", text=finding.title))
            return incident

    def get(self, incident_id: int) -> Incident | None:
        with self.session() as s:
            return s.get(Incident, incident_id)

    def find_open(self, cluster: str, kind: str, scope: str) -> Incident | None:
        with self.session() as s:
            return s.scalars(
                select(Incident).where(
                    Incident.cluster == cluster, Incident.kind == kind, Incident.scope == scope, Incident.status == "open"
                )
            ).first()

    def was_resolved(self, cluster: str, kind: str, scope: str) -> bool:
        """Whether an incident with this key has already run its course (final findings open none)."""
        with self.session() as s:
            return (
                s.scalars(
                    select(Incident.id).where(
                        Incident.cluster == cluster,
                        Incident.kind == kind,
                        Incident.scope == scope,
                        Incident.status == "resolved",
                    )
                ).first()
                is not None
            )

    def recently_resolved(self, cluster: str, kind: str, scope: str, since: datetime) -> Incident | None:
        """The newest incident with this key that resolved at or after ``since``, if any."""
        with self.session() as s:
            return s.scalars(
                select(Incident)
                .where(
                    Incident.cluster == cluster,
                    Incident.kind == kind,
                    Incident.scope == scope,
                    Incident.status == "resolved",
                    Incident.resolved_at >= since,
                )
                .order_by(Incident.id.desc())
            ).first()

    def open_incidents(self, cluster: str | None = None) -> list[Incident]:
        with self.session() as s:
            query = select(Incident).where(Incident.status == "open").order_by(Incident.id)
            if cluster is not None:
                query = query.where(Incident.cluster == cluster)
            return list(s.scalars(query))

    def by_parent(self, channel: str, ts: str) -> Incident | None:
        """The incident whose parent message is ``ts`` (channel given as ID or as configured)."""
        with self.session() as s:
            found = list(s.scalars(select(Incident).where(Incident.parent_ts == ts)))
        return next((i for i in found if i.channel in (channel, channel.lstrip("#"))), found[0] if found else None)

    def update(self, incident_id: int, **changes: Any) -> Incident:
        with self.session() as s:
            incident = s.get(Incident, incident_id)
            if incident is None:
                raise KeyError(incident_id)
            for name, value in changes.items():
                setattr(incident, name, value)
            return incident

    def add_event(self, incident_id: int, at: datetime, kind: str, text: str = "", actor: str = "") -> None:
        with self.session() as s:
            s.add(IncidentEvent(incident_id=incident_id, at=at, kind=kind, text=text, actor=actor))

    def events(self, incident_id: int) -> list[IncidentEvent]:
        with self.session() as s:
            return list(
                s.scalars(
                    select(IncidentEvent).where(IncidentEvent.incident_id == incident_id).order_by(IncidentEvent.id)
                )
            )

    # -- first-seen marks --------------------------------------------------------

    def first_seen(self, cluster: str) -> dict[str, datetime]:
        with self.session() as s:
            return {m.subject: m.at for m in s.scalars(select(FirstSeen).where(FirstSeen.cluster == cluster))}

    def replace_first_seen(self, cluster: str, marks: dict[str, datetime]) -> None:
        """Keep exactly ``marks``: subjects no longer in trouble lose their mark."""
        with self.session() as s:
            s.execute(delete(FirstSeen).where(FirstSeen.cluster == cluster))
            s.add_all(FirstSeen(cluster=cluster, subject=subject, at=at) for subject, at in marks.items())

    # -- mutes -----------------------------------------------------------------

    def mute_kind(self, kind: str, until: datetime, by: str, now: datetime) -> None:
        with self.session() as s:
            s.merge(KindMute(kind=kind, until=until, by=by, at=now))

    def unmute_kind(self, kind: str) -> bool:
        with self.session() as s:
            # A DELETE's result is a CursorResult, which has the row count; Session.execute is typed as Result.
            deleted = cast("CursorResult[Any]", s.execute(delete(KindMute).where(KindMute.kind == kind)))
            return deleted.rowcount > 0

    def kind_muted(self, kind: str, now: datetime) -> KindMute | None:
        with self.session() as s:
            mute = s.get(KindMute, kind)
            return mute if mute is not None and mute.until > now else None

    # -- outbox ----------------------------------------------------------------

    def enqueue(self, method: str, payload: dict[str, Any], incident_id: int | None, now: datetime) -> OutboxEntry:
        with self.session() as s:
            if method == "update" and incident_id is not None:
                # Only the newest state of a parent matters: older pending edits are superseded.
                s.execute(
                    delete(OutboxEntry).where(
                        OutboxEntry.incident_id == incident_id,
                        OutboxEntry.method == "update",
                        OutboxEntry.status == "pending",
                    )
                )
            entry = OutboxEntry(
                incident_id=incident_id, method=method, payload=payload, status="pending",
                attempts=0, next_attempt_at=now, created_at=now, last_error="",
            )
            s.add(entry)
            return entry

    def pending(self) -> list[OutboxEntry]:
        with self.session() as s:
            return list(s.scalars(select(OutboxEntry).where(OutboxEntry.status == "pending").order_by(OutboxEntry.id)))

    def outbox(self) -> list[OutboxEntry]:
        with self.session() as s:
            return list(s.scalars(select(OutboxEntry).order_by(OutboxEntry.id)))

    def mark_outbox(self, entry_id: int, **changes: Any) -> None:
        with self.session() as s:
            entry = s.get(OutboxEntry, entry_id)
            if entry is not None:
                for name, value in changes.items():
                    setattr(entry, name, value)
