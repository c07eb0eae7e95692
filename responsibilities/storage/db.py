"""The database: engine, sessions, and the settings SQLite needs to be a safe shared store.

The embedded default is one SQLite file under ./var/; ``DUBAN_DATABASE_URL`` points elsewhere
(PostgreSQL for larger installs). Everything dialect-specific sits behind ``is_sqlite`` checks.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import URL, Engine, create_engine, event, func, make_url, select
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DATABASE_URL = "sqlite:///var/duban.sqlite3"
BUSY_TIMEOUT_MS = 10_000  # a writer waits this long for another writer before giving up
READ_ONLY = "duban_read_only"  # execution option: this transaction only reads


def database_url(url: str | None = None) -> str:
    return url or os.environ.get("DUBAN_DATABASE_URL") or DEFAULT_DATABASE_URL


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url if isinstance(engine_or_url, str) else str(engine_or_url.url)
    return url.startswith("sqlite")


class DatabaseUnusable(Exception):
    """DUBAN_DATABASE_URL names nothing duban can use; the message says what to change."""


URL_HELP = "请写成 sqlite:///文件路径 或 postgresql+psycopg://用户:密码@主机:端口/数据库名"
CONNECT_TIMEOUT_S = 10  # a PostgreSQL host that does not answer is an error after this, not a hang


def make_engine(url: str | None = None) -> Engine:
    url = database_url(url)
    parsed = _parsed(url)
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            _usable_folder(Path(parsed.database).parent)
        engine = create_engine(url)
        _configure_sqlite(engine)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    except ModuleNotFoundError:
        raise DatabaseUnusable("PostgreSQL 的驱动 psycopg 没有安装:请用 `make` 重新安装(锁定文件中已有),"
                               "或运行 pip install 'psycopg[binary]'") from None


def _parsed(url: str) -> URL:
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnusable(f"DUBAN_DATABASE_URL 不是数据库地址:{URL_HELP}") from None
    backend, _, driver = parsed.drivername.partition("+")
    if (backend, driver) not in {("sqlite", ""), ("sqlite", "pysqlite"), ("postgresql", ""), ("postgresql", "psycopg")}:
        raise DatabaseUnusable(f"DUBAN_DATABASE_URL 指向 {parsed.drivername},duban 只支持 SQLite 和 PostgreSQL"
                               f"(驱动 psycopg):{URL_HELP}")
    return parsed


def _usable_folder(folder: Path) -> None:
    """The SQLite file's folder, created when missing; refused when it cannot be, or cannot be written (SQLite
    writes its journal files beside the database)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatabaseUnusable(f"无法创建数据库所在的文件夹 {folder}:{error.strerror};"
                               "请换一个可写的位置(DUBAN_DATABASE_URL)") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DatabaseUnusable(f"数据库所在的文件夹 {folder} 不可写:请修改其权限,或换一个位置(DUBAN_DATABASE_URL)")


def _configure_sqlite(engine: Engine) -> None:
    """Per-connection settings, and write transactions that take the write lock up front.

    Python's sqlite3 driver opens transactions lazily and never for SELECTs, so a read-then-write
    transaction could fail halfway with "database is locked". Per SQLAlchemy's SQLite notes we take
    over transaction control and emit BEGIN IMMEDIATE ourselves: the lock is taken, or waited for
    (busy timeout), before the first read.
    """

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):  # DBAPI types
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")  # readers never block the writer, nor it them
        cursor.execute("PRAGMA synchronous = NORMAL")  # safe with WAL: a crash loses no committed data
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
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
