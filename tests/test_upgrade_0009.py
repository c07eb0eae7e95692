"""A database made by the release before many plans (revision 0009, frozen in tests/fixtures/release_0009) upgrades in
place: every row belongs to the seed plan, nothing is lost, no notice already sent is owed again, every account
and session keeps working, and every link a mail carried still opens its deliverable (issue 15)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from responsibilities.notices.digests import write_digests
from responsibilities.notices.sweep import sweep
from responsibilities.plan.loader import load_plan
from responsibilities.reports.summary import queue_summary_notice
from responsibilities.storage import migrate, plan_sync
from responsibilities.storage.model import (
    Deliverable,
    ObligationRecord,
    PlanPerson,
    PlanRecord,
    UnitPlan,
    UnitRecord,
)

from conftest import SEED_ID, SEED_PLAN
from database_support import SqliteDatabase
from release_fixture import TRIGGER_KEPT, copy_release_fixture, manifest, release_fixture_into
from web_support import make_app, sign_in

LAST_DAY = date(2020, 3, 20)  # the fixture's last day: its sweep and digests of that day ran
AFTER = datetime(2020, 3, 20, 8, 30, tzinfo=timezone.utc)  # within every live session's idle time-out
MANIFEST = manifest()


@pytest.fixture
def upgraded(empty_database):
    """The frozen rows in this test's database (SQLite or PostgreSQL), upgraded to this release."""
    release_fixture_into(empty_database.url)
    migrate.upgrade(empty_database.engine)
    return empty_database


@pytest.fixture
def upgraded_copy(tmp_path):
    """The frozen SQLite file itself, copied with its evidence, and upgraded: what an office's upgrade does."""
    url, evidence, _ = copy_release_fixture(tmp_path)
    database = SqliteDatabase(Path(url.removeprefix("sqlite:///")))
    migrate.upgrade(database.engine)
    return database, evidence


def test_every_row_is_kept_and_belongs_to_the_seed_plan(upgraded):
    kept = {table: n for table, n in MANIFEST["tables"].items()
            if table not in ("alembic_version", *TRIGGER_KEPT)}  # the triggers keep no rows of zeros
    assert {table: upgraded.count(f'"{table}"') for table in kept} == kept
    with upgraded.session_factory() as session:
        assert list(session.scalars(select(PlanRecord.id))) == [SEED_ID]
        assert set(session.scalars(select(ObligationRecord.plan_id))) == {SEED_ID}
        assert set(session.scalars(select(Deliverable.plan_id))) == {SEED_ID}
        qualified = SEED_ID + ":" + Deliverable.ref
        assert session.scalar(select(func.count()).where(Deliverable.qualified_ref != qualified)) == 0
        states = dict(session.execute(select(Deliverable.state, func.count()).group_by(Deliverable.state)).all())
        assert states == MANIFEST["deliverables"]["by_state"]
        assert session.scalar(select(func.count()).select_from(PlanPerson)) == MANIFEST["tables"]["people"]
        named = session.scalar(select(func.count()).select_from(UnitRecord).where(UnitRecord.retired.is_(False)))
        assert session.scalar(select(func.count()).select_from(UnitPlan)) == named
        for example in (e for examples in MANIFEST["deliverables"]["examples"].values() for e in examples):
            row = session.scalars(select(Deliverable).where(Deliverable.ref == example["ref"])).one()
            assert (row.state, row.due.isoformat(), row.unit_id) == (example["state"], example["due"], example["unit"])


def test_no_notice_already_owed_is_owed_again_after_the_upgrade(upgraded):
    sessions = upgraded.session_factory
    before = upgraded.count("notices")
    written = sweep(sessions, now=datetime(2020, 3, 20, 0, 5, tzinfo=timezone.utc), today=LAST_DAY).written
    assert sum(written.values()) == 0, written
    assert sum(write_digests(sessions, now=datetime(2020, 3, 20, 0, 35, tzinfo=timezone.utc), today=LAST_DAY)
               .values()) == 0
    assert queue_summary_notice(sessions, year=2019, now=AFTER, today=LAST_DAY, plan_id=SEED_ID) == 0
    assert upgraded.count("notices") == before


def test_loading_the_plan_after_the_upgrade_only_names_it_shortly(upgraded):
    report = plan_sync.sync_plan(upgraded.session_factory, load_plan(SEED_PLAN), now=AFTER)
    assert report.as_dict() == {"plan": {"updated": 1}}  # the short name the file now gives
    again = plan_sync.sync_plan(upgraded.session_factory, load_plan(SEED_PLAN), now=AFTER)
    assert not again.changed


def test_every_account_signs_in_and_every_live_session_goes_on_after_the_upgrade(upgraded_copy, tmp_path):
    database, evidence = upgraded_copy
    app = make_app(database.url, evidence, AFTER)
    for account in (a for a in MANIFEST["accounts"] if a["signs_in"]):
        client = sign_in(app, account["name"], account["password"])
        assert client.get("/api/session").json()["name"] == account["name"]
    for live in MANIFEST["sessions"]:
        client = TestClient(app, base_url="http://testserver", cookies={live["cookie"]: live["token"]})
        assert client.get("/api/session").json()["name"] == live["user"], live["user"]


def test_every_link_a_mail_carried_still_opens_what_it_named(upgraded_copy):
    database, evidence = upgraded_copy
    app = make_app(database.url, evidence, AFTER)
    office = next(a for a in MANIFEST["accounts"] if a["role"] == "office")
    client = sign_in(app, office["name"], office["password"])
    opened = 0
    for link in (x for x in MANIFEST["links"] if x["opens"]):
        page = client.get(link["path"])
        assert page.status_code == 200, link["path"]
        named = link["opens"].get("deliverable") or link["opens"].get("obligation")
        if named:
            assert named.split("@")[0] in page.text, link["path"]
        opened += 1
    assert opened >= 90


def test_every_evidence_file_downloads_as_it_was_kept(upgraded_copy):
    database, evidence = upgraded_copy
    app = make_app(database.url, evidence, AFTER)
    office = next(a for a in MANIFEST["accounts"] if a["role"] == "office")
    client = sign_in(app, office["name"], office["password"])
    files = [e for e in MANIFEST["evidence"] if e["kind"] == "file"]
    for item in files:
        body = client.get(f"/deliverables/{item['ref']}/evidence/{item['id']}").content
        assert hashlib.sha256(body).hexdigest() == item["sha256"], item["filename"]
    assert files
