"""The tests' databases: a SQLite file or a PostgreSQL database, each with duban's engine and a plain one.

A test's database is a copy of a session-wide template (migrated; plus the seed plan; plus web passwords),
built once per session and database kind. A closed SQLite file is just bytes, so its copy is a file copy; on
PostgreSQL it is ``CREATE DATABASE … TEMPLATE``, a copy made by the server, dropped after the test.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, Engine, MetaData, create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from responsibilities import db
from postgres_cluster import Server

# Each template is the one before it plus one step (conftest's build_template): the seed plan is loaded into a
# copy of the migrated database, the web passwords set in a copy of the loaded one.
TEMPLATES = {"migrated": None, "loaded": "migrated", "accounts": "loaded"}


class Database:
    """One test database, the engine and session factory duban uses on it, and a plain way in beside them."""

    dialect: str

    def __init__(self, url: str, template: str | None = None) -> None:
        self.url, self.template = url, template
        self.engine: Engine = db.make_engine(url)
        self.session_factory: sessionmaker[Session] = db.make_session_factory(self.engine)

    def raw(self) -> Connection:
        """A plain connection without duban's settings (no foreign keys pragma, no BEGIN IMMEDIATE, no pool):
        what someone with the file or a database login could do. Statements are ``text()``; close it after."""
        return create_engine(self.url, poolclass=NullPool).connect()

    def count(self, table: str) -> int:
        with self.raw() as connection:
            return connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608 - test code

    def dump(self) -> list[str]:
        """The schema and every row of every table, in order: two equal dumps mean nothing at all was written.

        Sequences are left out on purpose: PostgreSQL does not roll them back, so a refused insert moves one on
        without writing anything.
        """
        with self.raw() as connection:
            return self.schema(connection) + rows(connection)

    def schema(self, connection: Connection) -> list[str]:
        raise NotImplementedError

    def close(self) -> None:
        self.engine.dispose()


def rows(connection: Connection) -> list[str]:
    """Every row of every table, tables by name and rows by primary key."""
    metadata = MetaData()
    metadata.reflect(connection)
    out = []
    for name, table in sorted(metadata.tables.items()):
        order = list(table.primary_key.columns) or list(table.columns)
        out += [f"{name} {tuple(row)!r}" for row in connection.execute(select(table).order_by(*order))]
    return out


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, path: Path, template: str | None = None) -> None:
        self.path = path
        super().__init__(f"sqlite:///{path}", template)

    def schema(self, connection: Connection) -> list[str]:
        return [" ".join(map(str, row)) for row in connection.execute(text(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"))]


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, server: Server, name: str, template: str | None = None) -> None:
        self.server, self.name = server, name
        super().__init__(server.url(name), template)

    def schema(self, connection: Connection) -> list[str]:
        return [" ".join(map(str, row)) for row in connection.execute(text(POSTGRES_SCHEMA))]


# Tables' columns, constraints, indexes, triggers and functions of the public schema, each as its definition.
POSTGRES_SCHEMA = """
SELECT 'column', table_name || '.' || column_name, data_type, coalesce(character_maximum_length, 0), is_nullable,
       coalesce(column_default, '')
  FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL SELECT 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid), 0, '', ''
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL SELECT 'index', indexname, indexdef, 0, '', '' FROM pg_indexes WHERE schemaname = 'public'
UNION ALL SELECT 'trigger', tgname, pg_get_triggerdef(t.oid), 0, '', ''
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT tgisinternal AND c.relnamespace = 'public'::regnamespace
UNION ALL SELECT 'function', proname, prosrc, 0, '', '' FROM pg_proc WHERE pronamespace = 'public'::regnamespace
ORDER BY 1, 2, 3
"""


# ── where the copies come from ────────────────────────────────────────────────────────────────────────

Build = Callable[[str, Database], None]  # (template name, a copy of the template before it): make it that template


class SqliteStore:
    """Templates as files in one folder; a test's database is a copy in its tmp_path."""

    dialect = "sqlite"

    def __init__(self, folder: Path, build: Build) -> None:
        self.folder, self.build = folder, build

    def template(self, name: str) -> Path:
        path = self.folder / f"{name}.sqlite3"
        if not path.exists():
            self._make(name, path)
        return path

    def _make(self, name: str, path: Path) -> None:
        base = TEMPLATES[name]
        partial = self.folder / f"{name}.partial.sqlite3"  # a build that fails leaves no template behind
        if base:
            copy_database(self.template(base), partial)
        template = SqliteDatabase(partial, base)
        try:
            self.build(name, template)
        finally:
            template.close()
        copy_database(partial, path)
        partial.unlink()

    def new(self, template: str, folder: Path) -> SqliteDatabase:
        path = folder / "duban.sqlite3"
        copy_database(self.template(template), path)
        return SqliteDatabase(path, template)

    def discard(self, database: Database) -> None:
        database.close()


class PostgresStore:
    """Templates as databases on the session's server; a test's database is ``CREATE DATABASE … TEMPLATE``."""

    dialect = "postgresql"

    def __init__(self, server: Server, build: Build) -> None:
        self.server, self.build = server, build
        self._templates: dict[str, str] = {}

    def template(self, name: str) -> str:
        if name not in self._templates:
            self._templates[name] = self._make(name)
        return self._templates[name]

    def _make(self, name: str) -> str:
        base = TEMPLATES[name]
        database_name = self.server.unique_name(name)
        self.server.create_database(database_name, self.template(base) if base else None)
        template = PostgresDatabase(self.server, database_name, base)
        try:
            self.build(name, template)
        except BaseException:
            template.close()
            self.server.drop_database(database_name)
            raise
        template.close()  # no connection may stay open: a template being copied must have none
        return database_name

    def new(self, template: str, folder: Path) -> PostgresDatabase:  # noqa: ARG002 - the same call as SqliteStore's
        name = self.server.unique_name("t")
        self.server.create_database(name, self.template(template))
        return PostgresDatabase(self.server, name, template)

    def discard(self, database: Database) -> None:
        assert isinstance(database, PostgresDatabase)
        database.close()
        self.server.drop_database(database.name)

    def drop_templates(self) -> None:
        for name in self._templates.values():
            self.server.drop_database(name)
        self._templates.clear()


def copy_database(source: Path, target: Path) -> None:
    """Copy a closed SQLite file. Its engine was disposed, so the WAL was checkpointed into the file."""
    for suffix in ("-wal", "-shm"):
        assert not Path(f"{source}{suffix}").exists(), f"{source} still has a {suffix} file: is a connection open?"
    shutil.copy(source, target)
