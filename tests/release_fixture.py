"""The release-0009 fixture for upgrade tests: a database made by the release whose Alembic head is 0009.

``tests/fixtures/release_0009`` holds it, made once by ``make.py`` there (at commit 74ed670, the last whose
migrations end at 0009) and frozen: ``duban.sqlite``, its evidence files under ``evidence/``, and
``manifest.json`` (row counts per table, the accounts and their passwords, live session tokens, one deliverable
per state, the links the messages sent carry, evidence hashes, figure versions).

- ``copy_release_fixture(tmp_path)``: the database and its evidence copied into ``tmp_path``, for a test to
  upgrade and use; the frozen files are never opened for writing.
- ``release_fixture_into(url)``: the same rows in another, empty database (PostgreSQL, or a SQLite file), its
  schema created at 0009 by the project's migrations and every row copied table by table in foreign-key order.
  The tables the triggers keep (``deliverable_counts``, ``unit_lights``) are not copied: the triggers rebuild them
  as the deliverables go in (``lights_day`` goes in first, so that the lights are counted for its day). Sequences
  are moved past the copied ids afterwards.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Connection, MetaData, Table, Text, TypeDecorator, cast, create_engine, insert, select, text
from sqlalchemy.types import TypeEngine

from responsibilities.storage import db, migrate

FIXTURE = Path(__file__).parent / "fixtures" / "release_0009"
DATABASE, EVIDENCE, MANIFEST = FIXTURE / "duban.sqlite", FIXTURE / "evidence", FIXTURE / "manifest.json"
REVISION = "0009"
TRIGGER_KEPT = ("deliverable_counts", "unit_lights")  # rebuilt by the triggers on deliverables, never copied
NOT_COPIED = (*TRIGGER_KEPT, "alembic_version")  # the migrations write alembic_version
FIRST = ("lights_day",)  # before deliverables: the lights triggers count for its day


def manifest() -> dict[str, Any]:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def copy_release_fixture(tmp_path: Path) -> tuple[str, Path, dict[str, Any]]:
    """A copy of the frozen database and its evidence in ``tmp_path``: (its database URL, its evidence folder, the
    manifest)."""
    folder = tmp_path / "release_0009"
    folder.mkdir(parents=True)
    shutil.copyfile(DATABASE, folder / "duban.sqlite")
    shutil.copytree(EVIDENCE, folder / "evidence")
    return f"sqlite:///{folder / 'duban.sqlite'}", folder / "evidence", manifest()


def release_fixture_into(url: str) -> dict[str, int]:
    """Create duban's schema at revision 0009 in the empty database at ``url`` with the project's migrations and copy
    every row of the frozen database into it; returns the rows copied per table."""
    engine = db.make_engine(url)
    try:
        if migrate.current_revision(engine) is not None:
            raise ValueError(f"{engine.url.render_as_string(hide_password=True)} already has a schema: "
                             "the fixture goes into an empty database")
        migrate.upgrade(engine, REVISION)
        with tempfile.TemporaryDirectory(prefix="duban-release-0009-") as folder:
            source_path = Path(folder) / "duban.sqlite"
            shutil.copyfile(DATABASE, source_path)  # read from a copy: the frozen file is never opened
            source = create_engine(f"sqlite:///{source_path}")
            try:
                with source.connect() as reading, engine.begin() as writing:
                    copied = _copy_rows(reading, writing)
                    if writing.dialect.name == "postgresql":
                        _move_sequences(writing)
            finally:
                source.dispose()
        return copied
    finally:
        engine.dispose()


def tables_in_order(metadata: MetaData) -> list[Table]:
    """The tables to copy, parents before children, ``lights_day`` first."""
    tables = [t for t in metadata.sorted_tables if t.name not in NOT_COPIED]
    return sorted(tables, key=lambda t: t.name not in FIRST)  # a stable sort keeps the foreign-key order


def _copy_rows(reading: Connection, writing: Connection) -> dict[str, int]:
    source, target = MetaData(), MetaData()
    source.reflect(reading)
    target.reflect(writing)
    copied = {}
    for table in tables_in_order(target):
        origin = source.tables[table.name]
        names = [c.name for c in table.columns]
        if set(names) != set(origin.columns.keys()):
            raise ValueError(f"{table.name}: the frozen table's columns {sorted(origin.columns.keys())} are not "
                             f"those revision {REVISION} makes {sorted(names)}")
        # JSON travels as its text, so that SQL NULL stays NULL and JSON null stays 'null'.
        columns = [origin.c[n].cast(Text) if _is_json(table.c[n].type) else origin.c[n] for n in names]
        rows = [dict(zip(names, row, strict=True)) for row in reading.execute(select(*columns))]
        if rows:
            json_text = _JsonText if writing.dialect.name == "postgresql" else Text
            for column in table.columns:
                if _is_json(column.type):
                    column.type = json_text()
            writing.execute(insert(table), rows)
        copied[table.name] = len(rows)
    return copied


def _is_json(type_: TypeEngine) -> bool:
    return isinstance(type_, (JSON, _JsonText))


class _JsonText(TypeDecorator):
    """A JSON column written from its text: ``CAST(:value AS JSON)``."""

    impl = Text
    cache_ok = True

    def bind_expression(self, bindvalue):
        return cast(bindvalue, JSON)


def _move_sequences(writing: Connection) -> None:
    """Every serial column's sequence past the largest id copied, so that the next row gets a new id."""
    serials = writing.execute(text(
        "SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name) "
        "FROM information_schema.columns WHERE table_schema = 'public' "
        "AND pg_get_serial_sequence(quote_ident(table_name), column_name) IS NOT NULL")).all()
    for table, column, sequence in serials:
        writing.execute(text(f'SELECT setval(:sequence, coalesce((SELECT max("{column}") FROM "{table}"), 0) + 1, '
                             "false)"), {"sequence": sequence})
