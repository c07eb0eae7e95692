"""The release-0009 fixture (tests/release_fixture.py) is what its manifest says: a database at revision 0009
whose rows, accounts, sessions, evidence and links a later upgrade test can count on, in a copy on SQLite and
in a database filled from it on PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import MetaData, select, text

from responsibilities.storage import db, migrate

from database_support import SqliteDatabase
from release_fixture import (
    DATABASE,
    FIXTURE,
    REVISION,
    TRIGGER_KEPT,
    copy_release_fixture,
    manifest,
    release_fixture_into,
)


def fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def frozen() -> str:
    """The frozen database's hash before the module's tests: the last test checks that none of them changed it."""
    return fingerprint(DATABASE)


def counts(database, tables) -> dict[str, int]:
    return {table: database.count(f'"{table}"') for table in tables}


def typed_rows(database, table: str, *, without_zeros: bool = False) -> list[str]:
    """Every row of ``table`` as its database's reflected types read it, sorted (the databases sort text apart);
    ``without_zeros``: leaving out the rows whose counts are all 0 (a unit whose deliverables all left a state)."""
    with database.raw() as connection:
        metadata = MetaData()
        metadata.reflect(connection, only=[table])
        reflected = metadata.tables[table]
        counted = [c.name for c in reflected.columns if not c.primary_key]
        rows = connection.execute(select(reflected)).all()
    if without_zeros:
        rows = [row for row in rows if any(row._mapping[c] for c in counted)]
    return sorted(repr(tuple(row)) for row in rows)


# ── the frozen files ─────────────────────────────────────────────────────────────────────────────────


def test_the_frozen_database_is_at_revision_0009_with_the_rows_its_manifest_counts(tmp_path, frozen):
    url, _evidence, expected = copy_release_fixture(tmp_path)
    database = SqliteDatabase(Path(url.removeprefix("sqlite:///")))
    try:
        assert migrate.current_revision(database.engine) == REVISION == expected["alembic_version"]
        assert counts(database, expected["tables"]) == expected["tables"]
    finally:
        database.close()
    assert expected["built_with"]["revision"] == REVISION
    assert {"deliverables", "evidence", "notices", "figure_reports", "users", "web_sessions", "audit"} <= {
        table for table, n in expected["tables"].items() if n}


def test_it_holds_deliverables_in_every_state_notices_sent_and_failed_and_corrected_figures():
    expected = manifest()
    deliverables = expected["deliverables"]
    assert set(deliverables["by_state"]) == {"open", "submitted", "returned", "accepted", "waived"}
    assert {s: {d["state"] for d in ds} for s, ds in deliverables["examples"].items()} == {
        s: {s} for s in deliverables["by_state"]}
    assert deliverables["overdue_count"] > 0
    assert {e["status"] for e in expected["extensions"]} == {"granted", "refused", "pending"}
    assert [e["occurred_on"] for e in expected["events"]] == ["2019-12-10"]
    statuses = Counter()
    for key, n in expected["notices"]["by_kind_and_status"].items():
        statuses[key.split()[1]] += n
    assert statuses["sent"] and statuses["failed"]
    kinds = {key.split()[0] for key in expected["notices"]["by_kind_and_status"]}
    assert {"reminder", "chase", "escalation", "digest"} <= kinds
    corrected = [f for f in expected["figures"] if f["kind"] == "correction"]
    assert corrected and len({f["region"] for f in expected["figures"]}) >= 2
    assert len({f["month"] for f in expected["figures"]}) >= 2


def test_every_account_session_evidence_file_and_link_in_the_manifest_is_in_the_database(tmp_path):
    url, evidence_dir, expected = copy_release_fixture(tmp_path)
    database = SqliteDatabase(Path(url.removeprefix("sqlite:///")))
    try:
        with database.raw() as connection:
            hashes = dict(connection.execute(text("SELECT name, password_hash FROM users")).all())
            disabled = dict(connection.execute(text("SELECT name, disabled FROM users")).all())
            sessions = dict(connection.execute(text(
                "SELECT s.id_hash, u.name FROM web_sessions s JOIN users u ON u.id = s.user_id")).all())
            refs = set(connection.execute(text("SELECT ref FROM deliverables")).scalars())
            stored = {(r.kind, r.sha256, r.url) for r in connection.execute(text("SELECT * FROM evidence"))}
    finally:
        database.close()
    hasher = PasswordHasher()
    for account in expected["accounts"]:
        assert hasher.verify(hashes[account["name"]], account["password"]), account["name"]
        assert bool(disabled[account["name"]]) is not account["signs_in"]
        with pytest.raises(VerificationError):
            hasher.verify(hashes[account["name"]], account["password"] + "x")
    for session in expected["sessions"]:
        assert sessions[hashlib.sha256(session["token"].encode()).hexdigest()] == session["user"]
    assert {s["user"] for s in expected["sessions"]} == {a["name"] for a in expected["accounts"] if a["signs_in"]}
    files = [e for e in expected["evidence"] if e["kind"] == "file"]
    assert files and any(e["kind"] == "link" for e in expected["evidence"])
    for item in files:
        data = (evidence_dir.parent / item["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == item["sha256"] and len(data) == item["size"]
    assert {(e["kind"], e["sha256"], e["url"]) for e in expected["evidence"]} == stored
    opened = [link["opens"]["deliverable"] for link in expected["links"] if "deliverable" in link["opens"]]
    assert opened and set(opened) <= refs
    assert all(path in {link["path"] for link in expected["links"]}
               for paths in expected["notice_links"].values() for path in paths)


# ── upgrading, and the same rows elsewhere ────────────────────────────────────────────────────────────


def test_upgrading_a_copy_to_0009_changes_nothing(tmp_path):
    url, _evidence, expected = copy_release_fixture(tmp_path)
    database = SqliteDatabase(Path(url.removeprefix("sqlite:///")))
    try:
        before = database.dump()
        assert migrate.upgrade(database.engine, REVISION) == (REVISION, REVISION)
        assert database.dump() == before
        assert counts(database, expected["tables"]) == expected["tables"]
    finally:
        database.close()


@pytest.mark.both_databases
def test_the_rows_copied_into_an_empty_database_are_the_manifests(empty_database, tmp_path):
    expected = manifest()
    copied = release_fixture_into(empty_database.url)
    engine = db.make_engine(empty_database.url)
    try:
        assert migrate.current_revision(engine) == REVISION
    finally:
        engine.dispose()
    kept = {t: n for t, n in expected["tables"].items() if t not in (*TRIGGER_KEPT, "alembic_version")}
    assert copied == kept
    assert counts(empty_database, expected["tables"]) == {
        t: n for t, n in expected["tables"].items() if t not in TRIGGER_KEPT} | counts(empty_database, TRIGGER_KEPT)
    url, _evidence, _ = copy_release_fixture(tmp_path)
    original = SqliteDatabase(Path(url.removeprefix("sqlite:///")))
    try:
        for table in copied:
            assert typed_rows(empty_database, table) == typed_rows(original, table), table
        refused = "SELECT count(*) FROM notices WHERE refused IS NOT NULL"  # SQL NULL stays NULL, not JSON null
        with empty_database.raw() as copy, original.raw() as frozen_rows:
            assert copy.execute(text(refused)).scalar_one() == frozen_rows.execute(text(refused)).scalar_one() > 0
        for table in TRIGGER_KEPT:  # rebuilt by the triggers as the deliverables went in
            assert (typed_rows(empty_database, table, without_zeros=True)
                    == typed_rows(original, table, without_zeros=True)), table
    finally:
        original.close()


@pytest.mark.only_on("postgresql", "sequences: SQLite's next id follows from the rows themselves")
def test_postgresql_sequences_move_past_the_copied_ids(empty_database):
    release_fixture_into(empty_database.url)
    with empty_database.raw() as connection:
        for table in ("audit", "notices", "deliverables", "evidence", "figure_reports", "users", "sign_in_attempts"):
            largest = connection.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()
            following = connection.execute(text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))")
                                           ).scalar_one()
            assert following > largest, table


def test_the_frozen_database_was_never_written(frozen):
    """Last in the module: every test above copied it, none changed it."""
    assert fingerprint(DATABASE) == frozen
    assert json.loads((FIXTURE / "manifest.json").read_text(encoding="utf-8"))["alembic_version"] == REVISION

