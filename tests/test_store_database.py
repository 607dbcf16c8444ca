"""The incident store on SQLite and on a real PostgreSQL: its schema, its rows, and two replicas sharing it.

Every test that takes ``database_url`` runs twice, once per backend
(tests/conftest.py starts the PostgreSQL server). The tests of two replicas
at once open two stores on one database, as two processes would, and the
ones that depend on row and advisory locks run on PostgreSQL only: SQLite
serves a single replica.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from slack_sdk import WebClient

from bot.alerts.engine import IncidentEngine
from bot.alerts.notifier import SlackNotifier
from bot.alerts.store import Base, IncidentStore
from bot.model.findings import UNREGISTERED_VMS, Finding
from bot.settings import AlertConfig
from tests.postgres import PostgresServer

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.at = NOW

    def now(self) -> datetime:
        return self.at


def finding(vms: int = 2, scope: str = "default-pool") -> Finding:
    return Finding(
        kind=UNREGISTERED_VMS, severity="critical", cluster="prod", scope=scope,
        title=f"{vms} VMs never registered", since=NOW - timedelta(minutes=15),
        facts={"count": vms, "zones": ["us-west1-b"], "vms": [f"gke-prod-default-{i}" for i in range(vms)]},
    )


@pytest.fixture
def stores(database_url: str) -> Iterator[list[IncidentStore]]:
    """Two stores on one database, as two replicas open it (the second finds the schema migrated)."""
    opened = [IncidentStore(database_url), IncidentStore(database_url)]
    yield opened
    for store in opened:
        store.close()


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    return postgres.new_database()


def test_migrations_build_the_schema_the_models_describe(database_url: str) -> None:
    store = IncidentStore(database_url)
    try:
        with store.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = [d for d in compare_metadata(context, Base.metadata) if "alembic_version" not in str(d)]
        assert differences == [], "a model changed without a migration (or a migration without its model)"
    finally:
        store.close()


def test_incidents_events_marks_mutes_and_the_outbox_round_trip(stores: list[IncidentStore]) -> None:
    store = stores[0]
    incident = store.open_incident(finding(), "#alerts", NOW)
    assert store.find_open("prod", UNREGISTERED_VMS, "default-pool").id == incident.id
    store.update(incident.id, parent_ts="1764000000.000100", acknowledged_by="U0BOB", acknowledged_at=NOW)
    store.add_event(incident.id, NOW, "acknowledged", actor="U0BOB")
    again = stores[1].get(incident.id)
    assert again.acknowledged_at == NOW and again.acknowledged_at.tzinfo is not None, "aware UTC back from either backend"
    assert again.rendered_facts["vms"] == ["gke-prod-default-0", "gke-prod-default-1"], "JSON facts"
    assert [e.kind for e in store.events(incident.id)] == ["opened", "acknowledged"]
    assert stores[1].by_parent("#alerts", "1764000000.000100").id == incident.id

    store.replace_first_seen("prod", {"vm:a": NOW, "vm:b": NOW - timedelta(minutes=3)})
    store.replace_first_seen("prod", {"vm:b": NOW - timedelta(minutes=3)})
    assert stores[1].first_seen("prod") == {"vm:b": NOW - timedelta(minutes=3)}

    store.mute_kind(UNREGISTERED_VMS, NOW + timedelta(hours=1), "U0CAROL", NOW)
    assert stores[1].kind_muted(UNREGISTERED_VMS, NOW) is not None
    assert store.unmute_kind(UNREGISTERED_VMS) and not store.unmute_kind(UNREGISTERED_VMS)
    store.mute_kind(UNREGISTERED_VMS, NOW + timedelta(hours=2), "U0CAROL", NOW, cluster="batch")
    assert stores[1].kind_muted(UNREGISTERED_VMS, NOW, cluster="batch") is not None, "muted on its cluster"
    assert stores[1].kind_muted(UNREGISTERED_VMS, NOW, cluster="prod") is None, "not on another"
    assert stores[1].kind_muted(UNREGISTERED_VMS, NOW + timedelta(hours=3), cluster="batch") is None, "until it ends"
    assert not store.unmute_kind(UNREGISTERED_VMS), "the fleet-wide mute is another one"
    assert store.unmute_kind(UNREGISTERED_VMS, cluster="batch") and not store.unmute_kind(UNREGISTERED_VMS, cluster="batch")

    store.enqueue("update", {"text": "old"}, incident.id, NOW)
    store.enqueue("update", {"text": "new"}, incident.id, NOW)
    assert [e.payload["text"] for e in stores[1].pending()] == ["new"], "a newer edit supersedes the pending one"
    store.update(incident.id, status="resolved", resolved_at=NOW)
    assert stores[1].open_incidents() == []
    assert stores[1].recently_resolved("prod", UNREGISTERED_VMS, "default-pool", NOW).id == incident.id


# -- the outbox: one sender per entry ---------------------------------------------------------------


def test_the_oldest_due_entry_is_claimed_and_marking_it_frees_the_next(stores: list[IncidentStore]) -> None:
    store = stores[0]
    for n in range(3):
        store.enqueue("channel", {"text": f"post {n}"}, None, NOW)
    claimed = store.claim_next(NOW)
    assert claimed is not None and claimed.payload["text"] == "post 0"
    store.mark_outbox(claimed.id, next_attempt_at=NOW + timedelta(minutes=5))  # a transient failure: later
    assert store.claim_next(NOW) is None, "the next ones wait behind it: order holds"
    again = store.claim_next(NOW + timedelta(minutes=5))
    assert again is not None and again.id == claimed.id
    store.mark_outbox(again.id, status="sent")
    assert store.claim_next(NOW).payload["text"] == "post 1"


def test_an_entry_one_replica_sends_is_not_sent_by_the_other(pg_url: str) -> None:
    first, second = IncidentStore(pg_url), IncidentStore(pg_url)
    try:
        for n in range(2):
            first.enqueue("channel", {"text": f"post {n}"}, None, NOW)
        claimed = first.claim_next(NOW)
        assert claimed is not None
        assert second.claim_next(NOW) is None, "the other replica neither takes it nor skips ahead of it"
        first.mark_outbox(claimed.id, status="sent")
        assert second.claim_next(NOW).payload["text"] == "post 1", "sent, the next one is free for anyone"
    finally:
        first.close()
        second.close()


def test_the_claim_of_a_replica_killed_mid_send_is_gone_at_once(pg_url: str) -> None:
    """A sender killed with SIGKILL holds no claim: the server drops it with the connection, no timeout to wait."""
    store = IncidentStore(pg_url)
    try:
        store.enqueue("channel", {"text": "post"}, None, NOW)
        sender = subprocess.Popen(
            [sys.executable, "-c", (
                "import sys, time; from datetime import datetime, UTC\n"
                "from bot.alerts.store import IncidentStore\n"
                f"store = IncidentStore({pg_url!r})\n"
                f"assert store.claim_next(datetime.fromisoformat({NOW.isoformat()!r})) is not None\n"
                "print('claimed', flush=True)\n"
                "time.sleep(600)\n"
            )],
            stdout=subprocess.PIPE, text=True,
        )
        try:
            assert sender.stdout is not None and sender.stdout.readline().strip() == "claimed"
            assert store.claim_next(NOW) is None, "taken while its sender lives"
        finally:
            sender.send_signal(signal.SIGKILL)
            sender.wait(30)
        deadline = time.monotonic() + 10
        while (entry := store.claim_next(NOW)) is None and time.monotonic() < deadline:
            time.sleep(0.05)  # the server notices the closed socket at once; allow for a loaded machine
        assert entry is not None and entry.payload["text"] == "post"
    finally:
        store.close()


def test_replicas_claiming_at_once_never_get_the_same_entry(pg_url: str) -> None:
    replicas = [IncidentStore(pg_url) for _ in range(4)]
    try:
        for n in range(40):
            replicas[0].enqueue("channel", {"text": f"post {n}"}, None, NOW)
        sent: list[tuple[str, int]] = []
        lock = threading.Lock()

        def drain(store: IncidentStore) -> None:
            idle = 0
            while idle < 20:
                entry = store.claim_next(NOW)
                if entry is None:
                    idle += 1
                    time.sleep(0.005)
                    continue
                idle = 0
                with lock:
                    sent.append((str(id(store)), entry.id))
                store.mark_outbox(entry.id, status="sent", attempts=entry.attempts + 1)

        with ThreadPoolExecutor(len(replicas)) as pool:
            list(pool.map(drain, replicas))
        ids = [entry_id for _, entry_id in sent]
        assert sorted(ids) == ids == sorted(set(ids)), "each entry sent once, in order"
        assert len(ids) == 40 and replicas[0].pending() == []
    finally:
        for store in replicas:
            store.close()


# -- the engine: one decision at a time, across replicas --------------------------------------------


def engine_on(store: IncidentStore, clock: Clock) -> IncidentEngine:
    """An engine whose notifier only queues (as a follower's does): the test reads the outbox, not Slack."""
    client = WebClient(token="xoxb-test", base_url="http://127.0.0.1:9/api/")
    notifier = SlackNotifier(client, store, clock, may_send=lambda: False)
    return IncidentEngine(store, notifier, clock, AlertConfig(channel="#alerts"))


def test_the_engine_is_serialized_across_replicas(pg_url: str) -> None:
    first, second = IncidentStore(pg_url), IncidentStore(pg_url)
    try:
        inside, release, entered = threading.Event(), threading.Event(), threading.Event()

        def hold() -> None:
            with first.serialized(), first.serialized():  # re-entrant: the engine's methods call each other
                inside.set()
                release.wait(10)

        def wait_for_it() -> None:
            with second.serialized():
                entered.set()

        holder = threading.Thread(target=hold)
        holder.start()
        assert inside.wait(10)
        waiter = threading.Thread(target=wait_for_it)
        waiter.start()
        assert not entered.wait(0.5), "the other replica waits while one decides"
        release.set()
        assert entered.wait(10)
        holder.join(10)
        waiter.join(10)
    finally:
        first.close()
        second.close()


def test_two_replicas_acknowledging_at_once_record_one_acknowledgement(pg_url: str) -> None:
    clock = Clock()
    first, second = IncidentStore(pg_url), IncidentStore(pg_url)
    try:
        engines = [engine_on(first, clock), engine_on(second, clock)]
        engines[0].process("prod", [finding()], {UNREGISTERED_VMS})
        [incident] = first.open_incidents()
        first.update(incident.id, parent_ts="1764000000.000100")
        users = ["U0BOB", "U0CAROL"] * 4
        with ThreadPoolExecutor(len(users)) as pool:
            list(pool.map(lambda n: engines[n % 2].acknowledge(incident.id, users[n]), range(len(users))))
        acknowledged = [e for e in first.events(incident.id) if e.kind == "acknowledged"]
        assert len(acknowledged) == 1
        assert first.get(incident.id).acknowledged_by == acknowledged[0].actor
        notes = [e for e in first.pending() if e.method == "thread" and "Acknowledged" in e.payload["text"]]
        assert len(notes) == 1, "one thread note for one acknowledgement"
    finally:
        first.close()
        second.close()


def test_a_click_on_one_replica_while_a_cycle_runs_on_the_other_stays_on_the_parent(pg_url: str) -> None:
    """The cycle reads, decides and renders; the click waits for it and renders last, so the edit keeps the ack."""
    clock = Clock()
    leader_store, follower_store = IncidentStore(pg_url), IncidentStore(pg_url)
    try:
        leader, follower = engine_on(leader_store, clock), engine_on(follower_store, clock)
        leader.process("prod", [finding(2)], {UNREGISTERED_VMS})
        [incident] = leader_store.open_incidents()
        leader_store.update(incident.id, parent_ts="1764000000.000100")

        in_cycle, go_on = threading.Event(), threading.Event()
        find_open = leader_store.find_open

        def slow_find_open(*args: Any) -> Any:  # the cycle pauses after reading the incident
            found = find_open(*args)
            in_cycle.set()
            go_on.wait(10)
            return found

        leader_store.find_open = slow_find_open  # type: ignore[method-assign]
        clock.at += timedelta(minutes=1)
        cycle = threading.Thread(target=leader.process, args=("prod", [finding(5)], {UNREGISTERED_VMS}))
        cycle.start()
        assert in_cycle.wait(10)
        click = threading.Thread(target=follower.acknowledge, args=(incident.id, "U0CAROL"))
        click.start()
        time.sleep(0.3)
        assert follower_store.get(incident.id).acknowledged_by is None, "the click waits for the cycle's decision"
        go_on.set()
        cycle.join(10)
        click.join(10)
        assert leader_store.get(incident.id).acknowledged_by == "U0CAROL"
        [edit] = [e for e in leader_store.pending() if e.method == "update"]
        assert "U0CAROL" in str(edit.payload["blocks"]), "the parent's last edit shows the acknowledgement"
        assert "5" in edit.payload["text"] or "5" in str(edit.payload["blocks"]), "and the cycle's news"
    finally:
        leader_store.close()
        follower_store.close()
