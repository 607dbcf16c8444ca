"""A throwaway PostgreSQL server for the tests: its own data directory, a loopback port, gone afterwards.

``PostgresServer`` runs ``initdb`` and ``pg_ctl`` from the PostgreSQL server
binaries (on PATH, or Debian's /usr/lib/postgresql/VERSION/bin). PostgreSQL
refuses to run as root, so under root (CI containers) the server runs as an
unprivileged user, ``postgres`` when the packages created it, else
``nobody``, and its directory is made theirs. It listens on 127.0.0.1 only,
trusts local connections and keeps no Unix socket; durability is traded for
speed (fsync off), which a test database can afford.

Each test that wants PostgreSQL gets a database of its own (``new_database``)
so that tests never see each other's rows.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
START_TIMEOUT = 60


def server_bin_dir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, if this machine has the server."""
    on_path = shutil.which("pg_ctl")
    candidates = [Path(on_path).resolve().parent] if on_path else []
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name or 0), reverse=True)
    candidates += [Path(p) for p in versions]
    for candidate in candidates:
        if all((candidate / name).is_file() for name in SERVER_BINARIES):
            return candidate
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _unprivileged_user() -> pwd.struct_passwd | None:
    """Whom to run the server as: nobody else than ourselves, unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root, and there is neither a postgres nor a nobody user to run PostgreSQL as")


class PostgresServer:
    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.user = _unprivileged_user()
        # Not under pytest's temporary directory: its parents are private to root, and the server's user must reach it.
        self.directory = Path(tempfile.mkdtemp(prefix="k8s-chatops-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "server.log"
        self.port = 0
        self._names = itertools.count(1)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        return subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]], capture_output=True, text=True, check=False,
            timeout=START_TIMEOUT, cwd=self.directory, **kwargs,  # type: ignore[arg-type]
        )

    def start(self) -> PostgresServer:
        if self.user is not None:
            os.chown(self.directory, self.user.pw_uid, self.user.pw_gid)
        done = self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr or done.stdout}")
        for _ in range(5):  # a port found free may be taken before the server binds it: try another
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories='' "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
            )
            done = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
            if done.returncode == 0:
                return self
            if "could not bind" not in self.log.read_text(errors="replace"):
                break
        raise RuntimeError(f"PostgreSQL did not start: {done.stderr or done.stdout}\n{self.log.read_text(errors='replace')[-2000:]}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self, prefix: str = "test") -> str:
        """Create an empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._names)}_{int(time.time() * 1000) % 100000}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            if self.data.exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
