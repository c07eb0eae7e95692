"""The tests' databases: a SQLite file or a PostgreSQL database, each with duban's engine and a plain one.

A test's database is a copy of a session-wide template (migrated; plus the seed plan; plus web passwords),
built once per session and database kind. A closed SQLite file is just bytes, so its copy is a file copy; on
PostgreSQL it is ``CREATE DATABASE … TEMPLATE``, a copy made by the server, dropped after the test.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import (
    CheckConstraint,
    Connection,
    Constraint,
    Dialect,
    Engine,
    ForeignKeyConstraint,
    MetaData,
    Table,
    create_engine,
    select,
    text,
)
from sqlalchemy.orm import Session, sessionmaker

from responsibilities.storage import db

from postgres_cluster import Server

# Each template is the one before it plus one step (conftest's build_template): the schema is migrated into a
# copy of the empty database, the seed plan loaded into a copy of the migrated one, and so on.
TEMPLATES = {"empty": None, "migrated": "empty", "loaded": "migrated", "accounts": "loaded"}


class Database:
    """One test database, the engine and session factory duban uses on it, and a plain way in beside them."""

    dialect: str

    def __init__(self, url: str, template: str | None = None) -> None:
        self.url, self.template = url, template
        self.engine: Engine = db.make_engine(url)
        self.session_factory: sessionmaker[Session] = db.make_session_factory(self.engine)
        self._plain = create_engine(url)  # no duban settings: see raw()

    def raw(self) -> Connection:
        """A plain connection without duban's settings (no foreign keys pragma, no BEGIN IMMEDIATE, no read-only
        snapshot): what someone with the file or a database login could do. Statements are ``text()``; use it in
        a ``with`` block (it is given back, rolled back, at its end)."""
        return self._plain.connect()

    def count(self, table: str) -> int:
        with self.raw() as connection:
            return connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # test code

    def dump(self) -> list[str]:
        """The schema (tables, constraints, indexes, triggers, functions) and every row of every table, in a
        stable order: two equal dumps mean nothing at all was written.

        Sequences are left out on purpose: PostgreSQL does not roll them back, so a refused insert moves one on
        without writing anything.
        """
        with self.raw() as connection:
            return self._dump(connection)

    def _dump(self, connection: Connection) -> list[str]:
        raise NotImplementedError

    def close(self) -> None:
        self.engine.dispose()
        self._plain.dispose()


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, path: Path, template: str | None = None) -> None:
        self.path = path
        super().__init__(f"sqlite:///{path}", template)

    # Reflected schemas by sqlite_master's text: the same text reflects to the same tables, and reflecting (~60 ms)
    # was most of a dump's time.
    _reflected: dict[tuple, tuple[list[Table], list[str]]] = {}

    def _dump(self, connection: Connection) -> list[str]:
        # The tables as reflected rather than as sqlite_master's text: a migration that rebuilds a table (batch
        # mode) may write its constraints in another, equal, order.
        master = tuple(connection.execute(text("SELECT type, name, tbl_name, sql FROM sqlite_master "
                                               "ORDER BY type, name")).all())
        if master not in self._reflected:
            metadata = MetaData()
            metadata.reflect(connection)
            tables = sorted(metadata.tables.values(), key=lambda t: t.name)
            code = [" ".join(map(str, (kind, name, sql))) for kind, name, _, sql in master
                    if kind in ("trigger", "view")]
            self._reflected[master] = (tables, [line for table in tables
                                                for line in structure(table, connection.dialect)] + code)
        tables, schema = self._reflected[master]
        return schema + [line for table in tables for line in rows(table, connection)]


def structure(table: Table, dialect: Dialect) -> list[str]:
    """A table's columns, constraints and indexes as reflected, each on a line, in a stable order."""
    columns = [f"column {table.name}.{c.name} {c.type.compile(dialect=dialect)} nullable={c.nullable} "
               f"default={getattr(c.server_default, 'arg', None)}" for c in table.columns]
    constraints = sorted(f"constraint {table.name} {describe(c)}" for c in table.constraints)
    indexes = sorted(f"index {table.name}.{i.name} {[c.name for c in i.columns]} unique={i.unique}"
                     for i in table.indexes)
    return columns + constraints + indexes


def describe(constraint: Constraint) -> str:
    if isinstance(constraint, CheckConstraint):
        return f"check {constraint.name} {constraint.sqltext}"
    if isinstance(constraint, ForeignKeyConstraint):
        return (f"foreign key {constraint.name} {constraint.column_keys} -> "
                f"{[e.target_fullname for e in constraint.elements]}")
    return f"{type(constraint).__name__} {constraint.name} {[c.name for c in constraint.columns]}"


def rows(table: Table, connection: Connection) -> list[str]:
    """Every row of ``table``, by primary key."""
    order = list(table.primary_key.columns) or list(table.columns)
    return [f"{table.name} {tuple(row)!r}" for row in connection.execute(select(table).order_by(*order))]


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, server: Server, name: str, template: str | None = None) -> None:
        self.server, self.name = server, name
        super().__init__(server.url(name), template)

    def _dump(self, connection: Connection) -> list[str]:
        # From the catalogue in two statements: reflecting through SQLAlchemy took ~0.3 s a dump, and a refused
        # action is checked with two dumps.
        schema = [" ".join(map(str, row)) for row in connection.execute(text(POSTGRES_SCHEMA))]
        keys = connection.execute(text(POSTGRES_KEYS)).all()
        tables = connection.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).scalar_one()
        assert len(keys) == tables, "a table without a primary key: its rows have no order to compare by"
        every_row = " UNION ALL ".join(
            f"SELECT '{table}', row_number() OVER (ORDER BY {key}), row_to_json(t)::text FROM \"{table}\" t"
            for table, key in keys)
        return schema + [f"{table} {row}" for table, _, row in connection.execute(text(f"{every_row} ORDER BY 1, 2"))]


# The public schema's columns, constraints, indexes, triggers and functions, each with its definition.
POSTGRES_SCHEMA = """
SELECT 'column', table_name || '.' || column_name, data_type, coalesce(character_maximum_length, 0), is_nullable,
       coalesce(column_default, '')
  FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL SELECT 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid), 0, '', ''
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL SELECT 'index', indexname, indexdef, 0, '', '' FROM pg_indexes WHERE schemaname = 'public'
UNION ALL SELECT 'trigger', tgname, pg_get_triggerdef(t.oid), 0, '', ''
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE NOT tgisinternal AND c.relnamespace = 'public'::regnamespace
UNION ALL SELECT 'function', proname, prosrc, 0, '', '' FROM pg_proc WHERE pronamespace = 'public'::regnamespace
ORDER BY 1, 2, 3
"""

# Every table of the public schema with its primary key's columns, to order its rows by (every table has one).
POSTGRES_KEYS = """
SELECT c.relname, string_agg(quote_ident(a.attname), ', ' ORDER BY array_position(i.indkey::int2[], a.attnum))
  FROM pg_class c JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey)
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
 GROUP BY c.relname ORDER BY c.relname
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
            with template.engine.connect():  # an empty database is a file too
                pass
            self.build(name, template)
        finally:
            template.close()
        copy_database(partial, path)
        partial.unlink()

    def new(self, template: str, folder: Path) -> SqliteDatabase:
        folder.mkdir(parents=True, exist_ok=True)
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

    def new(self, template: str, folder: Path) -> PostgresDatabase:  # the same call as SqliteStore's
        name = self.server.unique_name("t")
        self.server.create_database(name, self.template(template))
        return PostgresDatabase(self.server, name, template)

    def discard(self, database: Database) -> None:
        assert isinstance(database, PostgresDatabase)
        database.close()
        self.server.drop_database(database.name)

    def close(self) -> None:
        """Drop the templates: a shared server (DUBAN_TEST_POSTGRES_URL) keeps nothing of ours."""
        for name in self._templates.values():
            self.server.drop_database(name)
        self._templates.clear()


def copy_database(source: Path, target: Path) -> None:
    """Copy a closed SQLite file. Its engine was disposed, so the WAL was checkpointed into the file."""
    for suffix in ("-wal", "-shm"):
        assert not Path(f"{source}{suffix}").exists(), f"{source} still has a {suffix} file: is a connection open?"
    shutil.copy(source, target)
