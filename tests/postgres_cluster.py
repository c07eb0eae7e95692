"""A PostgreSQL server for the test session: the one DUBAN_TEST_POSTGRES_URL names, or a throwaway cluster.

Without a URL, the server binaries are looked for (``pg_config --bindir``, then the newest
/usr/lib/postgresql/*/bin), and a cluster is made in a temporary folder with ``initdb`` (about a second),
started with ``pg_ctl`` on a free port of 127.0.0.1 (with a password, as an install's server has one), its
unix socket in that folder and durability off (a test database is thrown away anyway), and stopped and
deleted at the end of the session. initdb refuses to run as root, so as root the cluster belongs to the
``postgres`` system user.

If pytest dies before its finalisers run, a watchdog process notices (its stdin, a pipe from pytest, reaches
end of file) and stops and deletes the cluster: no server outlives the session however it ends.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

MODE = "DUBAN_TEST_POSTGRES"  # auto (default): when available; required: or fail; off: never
URL = "DUBAN_TEST_POSTGRES_URL"  # an existing server, as a role allowed to CREATE DATABASE
CLUSTER_USER = "duban_test"
INSTALL = ("install the PostgreSQL server (Debian: apt-get install postgresql), or set "
           f"{URL}=postgresql://USER:PASSWORD@HOST:PORT/postgres for a role that may CREATE DATABASE")
FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class Unavailable(RuntimeError):
    """No PostgreSQL for the tests; the message says why and what to install."""


def mode() -> str:
    value = os.environ.get(MODE, "auto").strip().lower() or "auto"
    if value not in ("auto", "required", "off"):
        raise ValueError(f"{MODE}={value!r}: expected auto, required or off")
    return value


@dataclass
class Server:
    """A PostgreSQL server the tests may create and drop databases on."""

    host: str
    port: int
    user: str
    password: str | None = None
    maintenance_db: str = "postgres"
    stop: Callable[[], None] = lambda: None
    _names: itertools.count = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str) -> str:
        """The SQLAlchemy URL duban takes (DUBAN_DATABASE_URL), password included."""
        from sqlalchemy.engine import URL as SqlUrl

        return SqlUrl.create("postgresql+psycopg", username=self.user, password=self.password, host=self.host,
                             port=self.port, database=database).render_as_string(hide_password=False)

    def connect(self, database: str | None = None, **kwargs):  # a psycopg connection
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               dbname=database or self.maintenance_db, connect_timeout=10, **kwargs)

    def unique_name(self, stem: str) -> str:
        # Several sessions may share a server (DUBAN_TEST_POSTGRES_URL): the process id keeps names apart.
        return f"duban_{os.getpid()}_{stem}_{next(self._names)}"

    def create_database(self, name: str, template: str | None = None) -> None:
        """A new database; a copy of ``template`` (which nobody may be connected to) when given."""
        like = f' TEMPLATE "{template}"' if template else " TEMPLATE template0"
        with self.connect(autocommit=True) as admin:
            if admin.info.server_version >= 150000:
                # Copying the files is faster for a small database than PostgreSQL 15's default, which writes
                # every block of the copy to the WAL: about half the time for the loaded template.
                like += " STRATEGY FILE_COPY"
            admin.execute(f'CREATE DATABASE "{name}"{like}')

    def drop_database(self, name: str) -> None:
        """Drop ``name``, ending whatever connections a test left open to it (WITH (FORCE): PostgreSQL 13+)."""
        with self.connect(autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ── finding a server ─────────────────────────────────────────────────────────────────────────────────


def server_from_url(url: str) -> Server:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise Unavailable(f"{URL}={parsed.render_as_string()} is not a PostgreSQL URL")
    server = Server(parsed.host or "127.0.0.1", parsed.port or 5432, parsed.username or "postgres",
                    parsed.password, parsed.database or "postgres")
    try:
        server.connect().close()
    except Exception as error:  # any failure to connect means: not available
        said = " ".join(str(error).split())  # one line: psycopg's message spans several
        raise Unavailable(f"cannot connect to {URL} ({parsed.render_as_string()}): {said}") from error
    return server


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl are: pg_config's answer, else the newest /usr/lib/postgresql/*/bin."""
    candidates = []
    if shutil.which("pg_config"):
        done = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            candidates.append(Path(done.stdout.strip()))
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version(p.parent.name), reverse=True)
    candidates += versions
    return next((c for c in candidates if (c / "initdb").exists() and (c / "pg_ctl").exists()), None)


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _memory_folder() -> str | None:
    """/dev/shm when there is one: a cluster in memory copies a test database in ~15 ms, on an ext4 disk in
    ~250 ms even with fsync off (creating a database creates and syncs hundreds of files)."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_cluster_owner() -> tuple[list[str], int | None]:
    """The command prefix that runs initdb and pg_ctl as a user they accept, and that user's id (None: us)."""
    if os.geteuid() != 0:
        return [], None
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError as missing:
        raise Unavailable("running as root, and there is no `postgres` user to own the test cluster "
                          "(initdb refuses root): create one, or run the tests as another user") from missing
    return ["runuser", "-u", "postgres", "--"], owner.pw_uid


def start_cluster() -> Server:
    """initdb a cluster in a new temporary folder, start it, and return it with a ``stop`` that deletes it."""
    bindir = find_bindir()
    if bindir is None:
        raise Unavailable(f"no PostgreSQL server binaries (initdb, pg_ctl) found: {INSTALL}")
    prefix, owner = _as_cluster_owner()
    root = Path(tempfile.mkdtemp(prefix="duban-test-pg-", dir=_memory_folder()))
    if owner is not None:
        os.chown(root, owner, -1)
    data = root / "data"
    stop = _stopper(prefix, bindir, root)
    # Over TCP, as duban connects, a password is required (SCRAM), so that the tests pass it the way an install
    # does: in the URL, and to pg_dump through the environment.
    password = secrets.token_urlsafe(16)
    pwfile = root / "password"
    pwfile.write_text(password, encoding="utf-8")
    if owner is not None:
        os.chown(pwfile, owner, -1)
    try:
        _run(prefix, bindir / "initdb", "-D", data, "--auth-local", "trust", "--auth-host", "scram-sha-256",
             "--pwfile", pwfile, "-U", CLUSTER_USER, "--encoding", "UTF8", "--locale", "C.UTF-8", "--no-sync")
        pwfile.unlink()
        port = _start(prefix, bindir, root)
    except BaseException:
        stop()
        raise
    return Server("127.0.0.1", port, CLUSTER_USER, password, stop=stop)


def _start(prefix: list[str], bindir: Path, root: Path) -> int:
    """pg_ctl start on a free port; a port taken between choosing and binding it is tried again."""
    for attempt in range(3):
        port = _free_port()
        options = {"listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": str(root), **FAST}
        try:
            _run(prefix, bindir / "pg_ctl", "start", "-D", root / "data", "-l", root / "server.log", "-w", "-t", "30",
                 "-o", " ".join(f"-c {name}={value}" for name, value in options.items()), log=root / "server.log")
            return port
        except Unavailable:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _run(prefix: list[str], *command: object, log: Path | None = None) -> None:
    done = subprocess.run([*prefix, *map(str, command)], capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip()
        if log is not None and log.exists():
            said += "\n" + log.read_text(errors="replace")
        raise Unavailable(f"{Path(str(command[0])).name} failed (exit {done.returncode}): {said[-2000:]}")


def _stopper(prefix: list[str], bindir: Path, root: Path) -> Callable[[], None]:
    """Stop and delete the cluster: once, from the session's finaliser, atexit, or the watchdog if pytest dies."""
    command = [*prefix, str(bindir / "pg_ctl"), "stop", "-D", str(root / "data"), "-m", "immediate", "-w"]
    watchdog = subprocess.Popen([sys.executable, "-c", WATCHDOG, json.dumps(command), str(root)],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)  # a Ctrl-C for pytest must not kill it first
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if stopped:
            return
        stopped = True
        if (root / "data" / "postmaster.pid").exists():
            subprocess.run(command, capture_output=True, timeout=60, check=False)
        shutil.rmtree(root, ignore_errors=True)
        watchdog.stdin.close()  # nothing left to do for it: it exits
        watchdog.wait(timeout=30)

    atexit.register(stop)
    return stop


# Runs in its own process: waits for pytest's end (end of file on stdin), then stops and deletes the cluster if
# pytest has not already done so.
WATCHDOG = """
import json, os, shutil, subprocess, sys
command, root = json.loads(sys.argv[1]), sys.argv[2]
sys.stdin.buffer.read()
if os.path.exists(os.path.join(root, "data", "postmaster.pid")):
    subprocess.run(command, capture_output=True, timeout=60)
shutil.rmtree(root, ignore_errors=True)
"""


def server() -> Server:
    """The session's server: DUBAN_TEST_POSTGRES_URL's, or a throwaway cluster. Raises Unavailable."""
    try:
        import psycopg  # noqa: F401 - duban's PostgreSQL driver, and the tests'
    except ImportError as missing:
        raise Unavailable("the psycopg driver is not installed (pip install 'psycopg[binary]>=3.2')") from missing
    url = os.environ.get(URL)
    return server_from_url(url) if url else start_cluster()
