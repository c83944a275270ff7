"""A real PostgreSQL server for the tests, started from the system's binaries.

One server per test session: ``initdb`` into a temporary folder, then
``pg_ctl start``: a server listening only on a Unix socket in that folder (no port to
collide with anything). Peers connect with trust; one role, made by
`PostgresServer.password_role`, must give its password, so a test can see a
refused login. PostgreSQL refuses to run as root, so as root the server runs
as an unprivileged account (``postgres`` when the package made one, else
``nobody``).

Without the binaries the tests skip, saying why, unless ``NF_REQUIRE_POSTGRES=1``
(as in CI), where they fail instead.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

__all__ = ["PostgresServer", "postgres_binaries", "running_postgres"]

REQUIRE_ENV_VAR = "NF_REQUIRE_POSTGRES"
_STARTUP_SECONDS = 30.0
_SUPERUSER = "postgres"
PASSWORD_ROLE = "sandbox_with_password"
"""The one role that must log in with a password (see `PostgresServer.password_role`)."""


def postgres_binaries() -> Path | None:
    """The folder with ``initdb`` and ``postgres``: ``pg_config --bindir``, else Debian's."""
    candidates: list[Path] = []
    if pg_config := shutil.which("pg_config"):
        done = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False, timeout=30
        )
        if done.returncode == 0:
            candidates.append(Path(done.stdout.strip()))
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True)
    candidates += [Path(folder) for folder in versions]
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder
    return None


def _version(folder: str) -> float:
    try:
        return float(Path(folder).parent.name)
    except ValueError:
        return 0.0


def _unprivileged_user() -> str | None:
    """Who the server runs as: ourselves, unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    pytest.fail("running as root, and there is neither a postgres nor a nobody account")


@dataclass
class PostgresServer:
    """A running server: its socket folder, and how to reach a database on it."""

    binaries: Path
    folder: Path
    run_as: str | None
    data: Path | None = None

    @property
    def socket_folder(self) -> Path:
        return self.folder

    def url(self, database: str, *, user: str = _SUPERUSER, password: str | None = None) -> str:
        """A ``postgresql://`` URL to ``database`` over the server's Unix socket."""
        login = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
        return f"postgresql://{login}@/{database}?host={quote(str(self.folder), safe='/')}"

    def _command(self, program: str, *args: str) -> list[str]:
        command = [str(self.binaries / program), *args]
        return ["runuser", "-u", self.run_as, "--", *command] if self.run_as else command

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` as the superuser; its unaligned, tuples-only output."""
        done = subprocess.run(
            self._command(
                "psql", "-h", str(self.folder), "-U", _SUPERUSER, "-d", database,
                "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql,
            ),
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"psql failed on {sql!r}:\n{done.stderr}")
        return done.stdout

    def new_database(self) -> str:
        """A new empty database; its name."""
        name = f"sandbox_{secrets.token_hex(6)}"
        self.psql(f"CREATE DATABASE {name}")
        return name

    def password_role(self) -> tuple[str, str]:
        """The role that must give a password (created on first call): (name, password)."""
        password = "right-" + secrets.token_hex(8)
        self.psql(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{PASSWORD_ROLE}')"
            f" THEN CREATE ROLE {PASSWORD_ROLE} LOGIN; END IF; END $$;"
            f" ALTER ROLE {PASSWORD_ROLE} PASSWORD '{password}'"
        )
        return PASSWORD_ROLE, password

    def start(self) -> PostgresServer:
        data = self.folder / "data"
        initdb = self._command(
            "initdb", "-D", str(data), "-U", _SUPERUSER, "--auth=trust", "-E", "UTF8",
            "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        done = subprocess.run(initdb, capture_output=True, text=True, check=False, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        (data / "pg_hba.conf").write_text(
            f"local all {PASSWORD_ROLE} scram-sha-256\nlocal all all trust\n", encoding="utf-8"
        )
        # fsync off: these tests kill the sandbox, never the server or the machine, and a
        # commit is in the server's hands (what the sandbox relies on) either way.
        options = (
            f"-k {self.folder} -c listen_addresses= -c fsync=off -c full_page_writes=off"
            " -c max_connections=200"
        )
        self.data = data
        started = subprocess.run(
            self._command(
                "pg_ctl", "start", "-D", str(data), "-l", str(self.folder / "server.log"),
                "-o", options, "-w", "-t", str(int(_STARTUP_SECONDS)),
            ),
            capture_output=True, text=True, check=False, timeout=_STARTUP_SECONDS + 30,
        )  # fmt: skip
        if started.returncode != 0:
            self.stop()
            raise RuntimeError(f"postgres did not start:\n{started.stderr}\n{self.log()}")
        return self

    def stop(self) -> None:
        """At once: open connections are cut, not waited for; the data is thrown away next."""
        if self.data is None:
            return
        subprocess.run(
            self._command("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w"),
            capture_output=True, check=False, timeout=60,
        )  # fmt: skip
        self.data = None

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A server for the session, or a skip (a failure under ``NF_REQUIRE_POSTGRES=1``)."""
    binaries = postgres_binaries()
    if binaries is None:
        reason = "no PostgreSQL server binaries (install Debian's postgresql package)"
        if os.environ.get(REQUIRE_ENV_VAR) == "1":
            pytest.fail(f"{reason}; {REQUIRE_ENV_VAR}=1 says these tests must run")
        pytest.skip(reason)
    run_as = _unprivileged_user()
    # Not under pytest's temporary folder: that one is private to root, and the server
    # runs as another user. The socket path must also stay short (about 100 bytes).
    folder = Path(tempfile.mkdtemp(prefix="nf-pg-"))
    if run_as is not None:
        account = pwd.getpwnam(run_as)
        os.chown(folder, account.pw_uid, account.pw_gid)
    server = PostgresServer(binaries, folder, run_as)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
