"""The database: engine, sessions, and the settings SQLite needs to be a safe shared store.

The embedded default is one SQLite file under ./var/; ``DUBAN_DATABASE_URL`` points elsewhere
(PostgreSQL for larger installs). Everything dialect-specific sits behind ``is_sqlite`` checks.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DATABASE_URL = "sqlite:///var/duban.sqlite3"
BUSY_TIMEOUT_MS = 10_000  # a writer waits this long for another writer before giving up
READ_ONLY = "duban_read_only"  # execution option: this transaction only reads


def database_url(url: str | None = None) -> str:
    return url or os.environ.get("DUBAN_DATABASE_URL") or DEFAULT_DATABASE_URL


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url if isinstance(engine_or_url, str) else str(engine_or_url.url)
    return url.startswith("sqlite")


def make_engine(url: str | None = None) -> Engine:
    url = database_url(url)
    if is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    """Per-connection settings, and write transactions that take the write lock up front.

    Python's sqlite3 driver opens transactions lazily and never for SELECTs, so a read-then-write
    transaction could fail halfway with "database is locked". Per SQLAlchemy's SQLite notes we take
    over transaction control and emit BEGIN IMMEDIATE ourselves: the lock is taken, or waited for
    (busy timeout), before the first read.
    """

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):  # noqa: ANN001 - DBAPI types
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")  # readers never block the writer, nor it them
        cursor.execute("PRAGMA synchronous = NORMAL")  # safe with WAL: a crash loses no committed data
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):  # noqa: ANN001
        # Reads (READ_ONLY, see queries.py) begin deferred: under WAL they read a snapshot and neither wait
        # for a writer nor make one wait. Taking the write lock for them would serialise every page view.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


# PostgreSQL's default isolation, READ COMMITTED, gives every statement a snapshot of its own: a page read in
# several statements could mix states from before and after a write that committed in between (a dashboard's
# totals that disagree with its matrix). REPEATABLE READ is one snapshot for the whole transaction, as a read
# on SQLite under WAL is; a read-only transaction at that level never fails with a serialization error.
POSTGRES_READ = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}


def read_session(session_factory: sessionmaker[Session]) -> Session:
    """A session for reading only, and one point in time for all it reads: on SQLite its transaction does not
    take the write lock; on PostgreSQL it is a read-only REPEATABLE READ transaction."""
    session = session_factory()
    options = {READ_ONLY: True}
    if session.get_bind().dialect.name == "postgresql":
        options |= POSTGRES_READ
    session.connection(execution_options=options)
    return session


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: services return the objects they changed, read after the commit.
    return sessionmaker(engine, expire_on_commit=False)


def serialise(session: Session, *keys: str) -> None:
    """Make this write transaction wait for any other one that serialised on one of ``keys``, until it ends.

    For a check-then-write (count the failed sign-ins, then add one): on SQLite every write transaction holds
    the write lock from its start, so they run one at a time anyway; at PostgreSQL's READ COMMITTED two could
    both check before either writes. There a transaction-scoped advisory lock per key serialises them; keys are
    taken in sorted order, so two transactions never wait for each other.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):
        session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))
