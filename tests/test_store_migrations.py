"""The incident store's schema migrations, the `k8s-chatops db` commands, and the refusals.

tests/fixtures/store-90979bb.sqlite3 is a store the last release wrote in the
middle of an outage (tests/fixtures/make_release_store.py says how): it is
upgraded in place and keeps every row. Two replicas starting together on
PostgreSQL migrate once, under the advisory lock; a store this release cannot
take over, or one a newer release migrated, stops the bot with one line.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, inspect, text

from bot.alerts.store import IncidentStore
from bot.database import connect, migrate
from bot.database.connect import DatabaseError
from bot.model.findings import Finding
from tests.bot_process import bot_env
from tests.postgres import PostgresServer

REPO = Path(__file__).resolve().parent.parent
RELEASE_STORE = Path(__file__).with_name("fixtures") / "store-90979bb.sqlite3"
RELEASE_TABLES = ("incidents", "incident_events", "first_seen", "kind_mutes", "outbox")


def release_store(tmp_path: Path) -> Path:
    copy = tmp_path / "incidents.sqlite3"
    shutil.copyfile(RELEASE_STORE, copy)
    return copy


def rows(path: Path, table: str, columns: str = "*") -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return sorted(db.execute(f"SELECT {columns} FROM {table}").fetchall(), key=repr)


def k8s_chatops(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command in its own process, with no bot settings from the test's environment but ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, timeout=120, check=False,
        env=bot_env(env), cwd=REPO,
    )


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("k8s-chatops: ")]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    return lines[0]


def test_the_last_releases_store_is_stamped_and_upgraded_in_place_keeping_every_row(tmp_path: Path) -> None:
    path = release_store(tmp_path)
    before = {table: rows(path, table) for table in RELEASE_TABLES}
    assert rows(path, "apscheduler_jobs", "id"), "that release kept its scheduler's jobs in the store"
    engine = create_engine(f"sqlite:///{path}")
    assert migrate.status(engine).current is None

    store = IncidentStore(f"sqlite:///{path}")
    try:
        assert migrate.status(store.engine).up_to_date
        for table, old in before.items():
            names = [c[1] for c in sqlite3.connect(path).execute(f"PRAGMA table_info({table})")]
            kept = rows(path, table, ", ".join(names[: len(old[0])] if old else names))
            assert kept == old, f"{table}: every row and value kept"
        assert not inspect(store.engine).has_table("apscheduler_jobs"), "jobs come from the configuration now"
        # The outage goes on where it stopped: the same incidents, the same thread, the same pending posts.
        open_incidents = store.open_incidents()
        assert [i.kind for i in open_incidents] == ["unregistered-vms", "pending-pods"]
        assert open_incidents[0].parent_ts == "1764000720.000200" and open_incidents[0].acknowledged_by == "U0BOB"
        assert [(e.method, e.attempts) for e in store.pending()] == [("thread", 1), ("parent", 1), ("thread", 1), ("update", 1)]
        assert store.first_seen("shop-prod") and store.kind_muted("autoscaler-at-max", open_incidents[0].opened_at)
    finally:
        store.close()
    assert migrate.upgrade(engine) == (migrate.head(), migrate.head()), "a second start has nothing to do"


def test_db_current_and_upgrade_say_where_the_store_stands(tmp_path: Path) -> None:
    url = f"sqlite:///{release_store(tmp_path)}"
    current = k8s_chatops("db", "current", "--url", url)
    assert current.returncode == 0, current.stderr
    assert "not versioned (written before migrations)" in current.stdout and f"stamps it {migrate.BASELINE}" in current.stdout
    upgraded = k8s_chatops("db", "upgrade", "--url", url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip().endswith(f"migrated from {migrate.BASELINE} to {migrate.head()}")
    assert k8s_chatops("db", "upgrade", "--url", url).stdout.strip().endswith(f"already at {migrate.head()}")
    assert k8s_chatops("db", "current", "--url", url).stdout.strip().endswith(f"{migrate.head()} (head)")


def test_the_configured_store_is_the_default_url(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"state_dir": str(tmp_path / "state")}))
    done = k8s_chatops("db", "upgrade", "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert f"{tmp_path / 'state' / 'incidents.sqlite3'}: created at {migrate.head()}" in done.stdout


def test_two_replicas_starting_together_migrate_once(postgres: PostgresServer) -> None:
    url = postgres.new_database()
    results: list[tuple[str | None, str]] = []
    barrier = threading.Barrier(3)

    def start() -> None:
        engine = connect.create(url)
        barrier.wait()
        results.append(migrate.upgrade(engine))
        engine.dispose()

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    head = migrate.head()
    assert sorted(results, key=str) == sorted([(None, head), (head, head), (head, head)], key=str), results


def test_a_migration_that_waits_too_long_for_another_replica_is_one_line(postgres: PostgresServer) -> None:
    url = postgres.new_database()
    engine = connect.create(url)
    try:
        with connect.advisory_lock(engine, migrate.LOCK):  # another replica, migrating
            with pytest.raises(DatabaseError, match="another replica held the schema migration lock .* for more than 0.3 s"):
                migrate.upgrade(engine, lock_seconds=0.3)
    finally:
        engine.dispose()


def test_a_store_a_newer_release_migrated_is_refused(database_url: str) -> None:
    IncidentStore(database_url).close()
    engine = connect.create(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(DatabaseError) as refused:
        IncidentStore(database_url)
    message = str(refused.value)
    assert "schema revision 0099, which this release does not know" in message and "\n" not in message
    engine.dispose()


def test_an_unversioned_store_with_other_tables_is_refused(tmp_path: Path) -> None:
    path = release_store(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE outbox ADD COLUMN priority INTEGER")
    with pytest.raises(DatabaseError, match=r"not one this release can take over \(table outbox has unknown columns priority\)"):
        IncidentStore(f"sqlite:///{path}")
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE kind_mutes")
    with pytest.raises(DatabaseError, match="but not kind_mutes"):
        IncidentStore(f"sqlite:///{path}")


def test_with_migration_at_start_off_an_old_store_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = release_store(tmp_path)
    with pytest.raises(DatabaseError, match="refusing to start"):
        IncidentStore(f"sqlite:///{path}", migrate=False)
    assert rows(path, "apscheduler_jobs", "id"), "untouched"


def test_run_on_a_refused_store_stops_with_one_line(tmp_path: Path) -> None:
    """`k8s-chatops run` opens the store before it connects to Slack: a refusal is one line and exit code 2."""
    state = tmp_path / "state"
    state.mkdir()
    path = release_store(state)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        db.execute("INSERT INTO alembic_version VALUES ('0099')")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "state_dir": str(state), "health": {"enabled": False},
        "slack": {"bot_token": "xoxb-test", "app_token": "xapp-test", "api_url": "http://127.0.0.1:9/api/"},
    }))
    done = k8s_chatops("run", "--config", str(config))
    assert done.returncode == 2
    assert "is at schema revision 0099, which this release does not know" in one_line(done.stderr)


def test_run_on_an_unreachable_database_stops_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "health": {"enabled": False}, "state": {"connect_timeout_seconds": 2},
        "slack": {"bot_token": "xoxb-test", "app_token": "xapp-test", "api_url": "http://127.0.0.1:9/api/"},
    }))
    done = k8s_chatops(
        "run", "--config", str(config),
        env={"K8S_CHATOPS_STATE__DATABASE_URL": "postgresql://k8s-chatops:s3cret@127.0.0.1:9/k8s_chatops"},
    )
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "the incident store at postgresql+psycopg://k8s-chatops:***@127.0.0.1:9/k8s_chatops cannot be reached" in line
    assert "s3cret" not in done.stderr, "the password never reaches the log"


# -- db copy: from SQLite to PostgreSQL ----------------------------------------------------------------


def test_db_copy_moves_an_sqlite_store_into_postgresql(tmp_path: Path, postgres: PostgresServer) -> None:
    source = f"sqlite:///{release_store(tmp_path)}"
    target = postgres.new_database()
    done = k8s_chatops("db", "copy", "--from", source, "--to", target)
    assert done.returncode == 0, done.stderr
    assert "copied 0 cluster_kind_mutes, 2 first_seen, 3 incidents, 1 kind_mutes, 6 incident_events, 8 outbox from sqlite:///" in done.stdout

    old, new = IncidentStore(source), IncidentStore(target)
    try:
        assert new.postgres
        for a, b in zip(old.open_incidents(), new.open_incidents(), strict=True):
            assert (a.id, a.parent_ts, a.since, a.rendered_facts, a.acknowledged_by) == (
                b.id, b.parent_ts, b.since, b.rendered_facts, b.acknowledged_by)
        assert [(e.id, e.payload, e.attempts) for e in old.pending()] == [(e.id, e.payload, e.attempts) for e in new.pending()]
        assert [(e.kind, e.at) for e in old.events(2)] == [(e.kind, e.at) for e in new.events(2)]
        assert old.first_seen("shop-prod") == new.first_seen("shop-prod")
        # New rows continue after the copied ids.
        at = old.open_incidents()[0].opened_at
        notready = Finding(kind="nodes-not-ready", severity="warning", cluster="shop-prod", title="1 node NotReady")
        assert new.open_incident(notready, "#alerts", at).id == 4
        assert new.enqueue("channel", {"text": "x"}, None, at).id == 10
    finally:
        old.close()
        new.close()

    again = k8s_chatops("db", "copy", "--from", source, "--to", target)
    assert again.returncode == 2
    assert "already holds incident-store rows (in first_seen, incidents, kind_mutes, incident_events, outbox)" in one_line(again.stderr)


def test_db_copy_refuses_a_missing_source(tmp_path: Path) -> None:
    done = k8s_chatops("db", "copy", "--from", f"sqlite:///{tmp_path / 'nothing.sqlite3'}", "--to", f"sqlite:///{tmp_path / 'to.sqlite3'}")
    assert done.returncode == 2
    assert "there is no incident store at sqlite:///" in one_line(done.stderr)

