"""Fixtures shared by the test files: a real PostgreSQL server beside SQLite.

``postgres`` starts one server for the whole session (tests/postgres.py), the
first time a test asks for it: one per pytest-xdist worker, each in a
temporary directory of its own and on a port the OS picked, so workers never
share a server (a database name also carries the worker's process id);
``database_url`` gives a test an empty store
database, once on SQLite and once on PostgreSQL. Without the PostgreSQL
server binaries the PostgreSQL cases are skipped, except in CI, where
`.ci/run` installs them and their absence is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import PostgresServer, server_bin_dir

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    bin_dir = server_bin_dir()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("the PostgreSQL server binaries (initdb, pg_ctl) are required in CI")
        pytest.skip("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    server = PostgresServer(bin_dir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database for one test: an SQLite file, or a fresh database on the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'incidents.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()
