"""Everything the alerting half must remember across restarts, in one database.

Incidents, their timelines, first-seen marks for grace periods, mutes and the
outbox of Slack posts live here rather than in memory, so a restarted (or a
newly elected) replica continues the same threads instead of opening new ones.
SQLite in ``state_dir`` by default, for one replica; PostgreSQL
(``state.database_url``) for two or more, where the database does the
coordination: an outbox entry is picked with ``SELECT ... FOR UPDATE SKIP
LOCKED`` and claimed for as long as it is being sent (``claim_next``), an
incident is changed under its row lock, and the incident engine's decisions
are serialized across replicas by an advisory lock (``serialized``). The schema is Alembic's (``bot.database.migrate``),
brought up to date when the store opens.
"""

from __future__ import annotations

import threading
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
    delete,
    exists,
    select,
    text,
)
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, aliased, mapped_column, sessionmaker

from bot.database import connect
from bot.database.connect import STORE_FILENAME
from bot.model.findings import Finding
from bot.settings import StateConfig

__all__ = ["STORE_FILENAME", "Incident", "IncidentEvent", "IncidentStore", "MuteResult", "OutboxEntry"]
ENGINE_LOCK = "incident engine"  # the advisory lock that serializes the engine's decisions across replicas
OUTBOX_LOCKS = 0x6B38  # the key space of outbox claims: pg_advisory_lock(OUTBOX_LOCKS, entry id)



@dataclass(frozen=True)
class MuteResult:
    """What a mute or unmute applied to, and until when."""

    target: str  # "incident #12" or a kind
    until: datetime | None
    cluster: str | None = None  # the one cluster a kind's mute covers; None for all of them


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


class ClusterKindMute(Base):
    """Silence one kind of finding on one cluster until a time (a team muting its own cluster of a fleet)."""

    __tablename__ = "cluster_kind_mutes"

    cluster: Mapped[str] = mapped_column(String(64), primary_key=True)
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
    # When the last attempt began, recorded before the request leaves (revision 0002).
    attempted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")


class IncidentStore:
    """Typed access to the tables; every method is one short transaction."""

    def __init__(self, url: str, options: StateConfig | None = None, *, migrate: bool | None = None) -> None:
        """Open the store at ``url`` and bring its schema up to date (or, with ``migrate`` off, insist that it is).

        Raises ``DatabaseError`` (one line) when the database cannot be reached
        or its schema is refused.
        """
        options = options or StateConfig()
        self.url = url
        self.engine: Engine = connect.create(url, options)
        self.postgres = connect.is_postgres(self.engine)
        from bot.database import migrate as migrations

        connect.reachable(self.engine)
        if options.migrate_on_start if migrate is None else migrate:
            migrations.upgrade(self.engine, lock_seconds=options.migration_lock_seconds)
        else:
            migrations.require_current(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._serial = threading.local()
        self._claims: dict[int, Connection] = {}  # outbox entry -> the connection holding its claim
        self._claims_lock = threading.Lock()

    @classmethod
    def in_state_dir(cls, state_dir: Path) -> IncidentStore:
        state_dir.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{state_dir / STORE_FILENAME}")

    @classmethod
    def from_settings(cls, state_dir: Path, options: StateConfig) -> IncidentStore:
        """PostgreSQL when ``options.database_url`` is set, else SQLite in ``state_dir``."""
        if options.database_url is None:
            state_dir.mkdir(parents=True, exist_ok=True)
            return cls(f"sqlite:///{state_dir / STORE_FILENAME}", options)
        return cls(options.database_url.get_secret_value(), options)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def close(self) -> None:
        self._release_claims()
        self.engine.dispose()

    @contextmanager
    def serialized(self) -> Iterator[None]:
        """One decision at a time across every replica on this database (re-entrant within a thread).

        The engine reads an incident, decides and renders it, then writes; a
        click on one replica while a cycle runs on another must not interleave
        with that, or a parent could be rendered from a state read before the
        click and edit the acknowledgement away. On PostgreSQL an advisory lock,
        released by the server if the holder dies; on SQLite (one replica) the
        engine's own thread lock is enough.
        """
        depth = getattr(self._serial, "depth", 0)
        if depth or not self.postgres:
            self._serial.depth = depth + 1
            try:
                yield
            finally:
                self._serial.depth = depth
            return
        with connect.advisory_lock(self.engine, ENGINE_LOCK):
            self._serial.depth = 1
            try:
                yield
            finally:
                self._serial.depth = 0

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
            # Under the row's lock (PostgreSQL): a concurrent writer of the same incident waits, then sees this.
            incident = s.get(Incident, incident_id, with_for_update=True)
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

    def mute_kind(self, kind: str, until: datetime, by: str, now: datetime, *, cluster: str | None = None) -> None:
        """Mute ``kind`` on every cluster, or only on ``cluster``."""
        with self.session() as s:
            if cluster is None:
                s.merge(KindMute(kind=kind, until=until, by=by, at=now))
            else:
                s.merge(ClusterKindMute(cluster=cluster, kind=kind, until=until, by=by, at=now))

    def unmute_kind(self, kind: str, *, cluster: str | None = None) -> bool:
        """Lift the fleet-wide mute of ``kind``, or its mute on ``cluster``; False when there was none."""
        with self.session() as s:
            if cluster is None:
                statement = delete(KindMute).where(KindMute.kind == kind)
            else:
                statement = delete(ClusterKindMute).where(ClusterKindMute.kind == kind, ClusterKindMute.cluster == cluster)
            # A DELETE's result is a CursorResult, which has the row count; Session.execute is typed as Result.
            deleted = cast("CursorResult[Any]", s.execute(statement))
            return deleted.rowcount > 0

    def kind_muted(self, kind: str, now: datetime, *, cluster: str | None = None) -> KindMute | ClusterKindMute | None:
        """The mute in force for ``kind`` (on ``cluster``, when named): the fleet-wide one first."""
        with self.session() as s:
            mute = s.get(KindMute, kind)
            if mute is not None and mute.until > now:
                return mute
            if cluster is None:
                return None
            local = s.get(ClusterKindMute, (cluster, kind))
            return local if local is not None and local.until > now else None

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

    def claim_next(self, now: datetime) -> OutboxEntry | None:
        """The oldest pending entry, claimed for sending, if it is due and nobody else sends it; else None.

        Entries go out in id order, one sender at a time: only the oldest
        pending entry is ever claimed, so a replica never sends a thread reply
        while another still sends its parent. On PostgreSQL the entry is picked
        with ``SELECT ... FOR UPDATE SKIP LOCKED`` (two replicas asking at once
        pass each other without waiting) and claimed with an advisory lock
        that a connection of its own holds while the entry is sent: another
        replica finds it taken, and when the sender dies mid-send the server
        drops the claim with its connection, so the entry is sent again (after
        a look in Slack for the post) at once, not after a timeout. The claim
        ends when ``mark_outbox`` ends the attempt (a new status, or a next
        attempt later), or at the next ``claim_next``: a process sends one
        entry at a time. SQLite serves one replica, whose notifier sends one
        entry at a time anyway: there the head is simply returned.
        """
        self._release_claims()
        older = aliased(OutboxEntry)
        head = (
            select(OutboxEntry)
            .where(
                OutboxEntry.status == "pending",
                OutboxEntry.next_attempt_at <= now,
                ~exists().where(older.status == "pending", older.id < OutboxEntry.id),
            )
            .order_by(OutboxEntry.id)
            .limit(1)
        )
        with self.session() as s:
            candidate = s.scalars(head.with_for_update(skip_locked=True)).first()
        if candidate is None or not self.postgres:
            return candidate
        holder = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            taken = holder.execute(text("SELECT pg_try_advisory_lock(:space, :entry)"), {"space": OUTBOX_LOCKS, "entry": candidate.id})
            if not taken.scalar():
                holder.close()
                return None  # another replica is sending it
            with self._claims_lock:
                self._claims[candidate.id] = holder
        except BaseException:
            holder.close()
            raise
        with self.session() as s:  # claimed: still pending, or did the sender before us just finish it?
            entry = s.get(OutboxEntry, candidate.id)
        if entry is None or entry.status != "pending":
            self._release_claims()
            return None
        return entry

    def _release_claims(self, entry_id: int | None = None) -> None:
        with self._claims_lock:
            held = [entry_id] if entry_id is not None else list(self._claims)
            connections = [(entry, self._claims.pop(entry)) for entry in held if entry in self._claims]
        for entry, connection in connections:
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:space, :entry)"), {"space": OUTBOX_LOCKS, "entry": entry})
            except DBAPIError:  # the connection is gone, and the lock with it
                connection.invalidate()
            finally:
                connection.close()

    def mark_outbox(self, entry_id: int, **changes: Any) -> None:
        """Change an entry; a new status or next attempt ends the attempt, and with it this process's claim."""
        with self.session() as s:
            entry = s.get(OutboxEntry, entry_id)
            if entry is not None:
                for name, value in changes.items():
                    setattr(entry, name, value)
        if "status" in changes or "next_attempt_at" in changes:
            self._release_claims(entry_id)
