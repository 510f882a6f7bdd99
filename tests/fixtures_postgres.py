"""A real PostgreSQL server for integration tests (PostgreSQL's own binaries on PATH).

``postgres_url`` starts one server per test session: ``initdb`` in a temporary folder (as the
``postgres`` user when running as root: initdb refuses root), listening on 127.0.0.1 on a
free port, trust authentication, superuser ``poolnas``; teardown stops it and removes the
folder. Without PostgreSQL's binaries the tests skip, unless ``POOLNAS_REQUIRE_ALL=1``.

Import the fixtures into a conftest (``tests/conftest.py`` does) to use them.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

__all__ = ["PostgresServer", "postgres_server", "postgres_url"]


def _bin_dir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    """A running server: ``url`` (superuser, no password) and ``url_for(user, password)``."""

    port: int
    folder: str
    bin_dir: str
    as_user: list[str]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://poolnas@127.0.0.1:{self.port}/postgres"

    def create_database(self, name: str, *, user: str | None = None, password: str | None = None) -> str:
        """A fresh database (and a login role with a password, when given); returns its URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=poolnas dbname=postgres",
                             autocommit=True) as conn:
            if user:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(user), sql.Literal(password)))
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(user)))
            else:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        if user:
            cred = f"{user}:{password}" if password else user
        else:
            cred = "poolnas"
        return f"postgresql+psycopg://{cred}@127.0.0.1:{self.port}/{name}"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        data = os.path.join(self.folder, "data")
        self._run(os.path.join(self.bin_dir, "initdb"), "-D", data, "-A", "trust", "-U", "poolnas")
        self._run(os.path.join(self.bin_dir, "pg_ctl"), "-D", data, "-o",
                  f"-h 127.0.0.1 -p {self.port} -k {self.folder}", "-l",
                  os.path.join(self.folder, "log"), "-w", "start")

    def stop(self) -> None:
        data = os.path.join(self.folder, "data")
        if os.path.isdir(data):
            subprocess.run([*self.as_user, os.path.join(self.bin_dir, "pg_ctl"), "-D", data,
                            "-m", "fast", "-w", "stop"], capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        if os.environ.get("POOLNAS_REQUIRE_ALL") == "1":
            pytest.fail("PostgreSQL binaries (initdb, pg_ctl) not found and POOLNAS_REQUIRE_ALL=1")
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    folder = tempfile.mkdtemp(prefix="poolnas-pg-")
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(folder, user="postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    server = PostgresServer(port=_free_port(), folder=folder, bin_dir=bin_dir, as_user=as_user)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """SQLAlchemy URL of the session's PostgreSQL server (database ``postgres``)."""
    return postgres_server.url
