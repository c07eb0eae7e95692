"""Storage: reloading plans, the append-only audit, SQLite's settings, lost updates, migrations, bad input.

On SQLite and on PostgreSQL; "unchanged" always means a full dump of the database (schema and every row) is the same.
"""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import String, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from responsibilities.errors import IllegalTransition, InvalidInput, NotFound, StaleDeliverable
from responsibilities.plan.loader import load_plan
from responsibilities.plan.yaml_reader import PlanInvalid
from responsibilities.reading import queries
from responsibilities.storage import migrate, plan_sync
from responsibilities.storage.db import read_session
from responsibilities.storage.model import Deliverable, Evidence, ObligationRecord
from responsibilities.tracking import services

from conftest import HRSS, OFFICE, SEED_PLAN, UNION, at, at_once, database_unchanged, seed_key

pytestmark = pytest.mark.both_databases

SEED_TEXT = SEED_PLAN.read_text(encoding="utf-8")
RELOADED_AT = at(2019, 11, 5)


def edit(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced; ``old`` must occur exactly once, so that no edit misses silently."""
    assert text.count(old) == 1, f"the plan contains {old!r} {text.count(old)} times, expected once"
    return text.replace(old, new, 1)


def write_plan(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    text = SEED_TEXT
    for old, new in edits:
        text = edit(text, old, new)
    path = tmp_path / "edited.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# ── loading the plan again ───────────────────────────────────────────────────────────────────────


def test_loading_the_same_plan_again_changes_nothing_and_writes_no_audit(loaded, session_factory, plan):
    audited = loaded.count("audit")
    with database_unchanged(loaded):
        report = plan_sync.sync_plan(session_factory, plan, now=RELOADED_AT)
    assert (report.changed, report.as_dict()) == (False, {})
    assert loaded.count("audit") == audited


def test_a_first_load_into_an_empty_database_dates_every_deliverable(database, session_factory, plan):
    report = plan_sync.sync_plan(session_factory, plan, now=at(2019, 10, 23))
    counts = report.as_dict()
    assert (counts["units"], counts["obligations"], counts["deliverables"]) == (
        {"added": 36}, {"added": 73}, {"added": 558})
    assert database.count("deliverables") == 558


@pytest.mark.slow
def test_two_first_loads_at_once_load_the_plan_once_and_neither_fails(database, session_factory, plan):
    # The gate holds SQLite's write lock; on PostgreSQL nothing blocks the two loads but each other.
    outcomes = at_once(database, "UPDATE alembic_version SET version_num = version_num", *(
        lambda sf: plan_sync.sync_plan(sf, plan, now=at(2019, 10, 23)) for _ in range(2)))
    assert outcomes == ["done", "done"]
    assert (database.count("units"), database.count("deliverables")) == (36, 558)


TASK_OLD = ("task: \"协调行业主管部门抓好企业职工、就业重点群体、贫困劳动力培训计划制订和培训组织工作,"
            "统筹推进全市职业技能培训各项工作。\"")
TASK_NEW = "task: \"协调行业主管部门抓好各类群体培训计划制订和培训组织工作。\""
HRSS_4_DEADLINE = ('    deadline: {text: "2019年10月31日前"}\n    sources:\n'
                   '      - {section: 工作分工, unit: 市人力资源社会保障局, item: 4}')
UNION_2 = ("  - id: union-2\n    lead: union\n    task: \"督促各企业合理安排生产经营活动,保证职工正常参加培训。\"\n"
           "    deadline: {text: \"持续推进\"}\n    sources:\n      - {section: 工作分工, unit: 市总工会, item: 2}\n")
HRSS_10 = ("  - id: hrss-10\n    lead: hrss\n    task: \"编印职业技能提升行动政策汇编。\"\n"
           "    deadline: {text: \"2019年12月15日前\"}\n    sources:\n"
           "      - {section: 工作分工, unit: 市人力资源社会保障局, item: 10}\n")


@pytest.fixture
def edited_plan(tmp_path):
    """The seed plan with one task reworded (hrss-5), one date moved (hrss-4 to 11-15), union-2 removed,
    hrss-10 added."""
    return load_plan(write_plan(
        tmp_path,
        (TASK_OLD, TASK_NEW),
        (HRSS_4_DEADLINE, HRSS_4_DEADLINE.replace("2019年10月31日前", "2019年11月15日前")),
        (UNION_2, HRSS_10),
    ))


def test_an_edited_plan_updates_texts_and_dates_in_place_and_reports_what_it_did(loaded, session_factory, edited_plan):
    report = plan_sync.sync_plan(session_factory, edited_plan, now=RELOADED_AT)

    assert report.as_dict() == {
        "obligations": {"updated": 2, "added": 1, "retired": 1},
        "deliverables": {"redated": 1, "added": 1, "retired": 9},
    }
    with session_factory() as session:
        task = TASK_NEW.removeprefix('task: "').removesuffix('"')
        assert session.get(ObligationRecord, seed_key("hrss-5")).task == task
        assert session.get(ObligationRecord, seed_key("hrss-4")).deadline_text == "2019年11月15日前"
    new = queries.show(session_factory, ref="hrss-10")
    assert (new.deliverable.due, new.deliverable.state) == (date(2019, 12, 15), "open")
    reworded = [a for a in queries.audit_trail(session_factory, unit="hrss")
                if a.obligation_id == seed_key("hrss-5")][-1]
    assert (reworded.action, reworded.actor, reworded.at) == ("obligation.loaded", "system", RELOADED_AT)
    assert list(reworded.before) == ["task"] and reworded.after["task"].startswith("协调行业主管部门抓好各类群体")


def test_a_moved_date_keeps_the_deliverables_accepted_state_and_its_history(loaded, session_factory, edited_plan):
    services.submit(session_factory, actor=HRSS, ref="hrss-4", now=at(2019, 10, 30), note="已办结")
    services.accept(session_factory, actor=OFFICE, ref="hrss-4", now=at(2019, 10, 31))

    plan_sync.sync_plan(session_factory, edited_plan, now=RELOADED_AT)

    view = queries.show(session_factory, ref="hrss-4")
    assert (view.deliverable.state, view.deliverable.due, view.deliverable.original_due) == (
        "accepted", date(2019, 11, 15), date(2019, 11, 15))
    assert [(a.actor, a.action) for a in view.history] == [
        ("system", "deliverable.dated"), (HRSS, "submit"), (OFFICE, "accept"), ("system", "deliverable.redated")]
    redated = view.history[-1]
    assert (redated.before["due"], redated.after["due"], redated.after["state"]) == (
        "2019-10-31", "2019-11-15", "accepted")


def test_a_removed_obligation_is_retired_with_its_history_never_deleted(loaded, session_factory, edited_plan):
    services.add_note(session_factory, actor=UNION, ref="union-2@2019-Q4", note="已走访20家企业", now=at(2019, 10, 30))
    deliverables = loaded.count("deliverables")

    plan_sync.sync_plan(session_factory, edited_plan, now=RELOADED_AT)

    assert loaded.count("deliverables") == deliverables + 1  # hrss-10 came; nothing went
    with session_factory() as session:
        assert session.get(ObligationRecord, seed_key("union-2")).retired_at == RELOADED_AT
        retired = session.scalars(select(Deliverable).where(Deliverable.obligation_id == seed_key("union-2"))).all()
    assert len(retired) == 9 and all(d.retired for d in retired)
    history = queries.show(session_factory, ref="union-2@2019-Q4").history
    assert [a.action for a in history] == ["deliverable.dated", "note", "deliverable.retired"]
    assert history[-1].before["retired"] is False and history[-1].after["retired"] is True
    assert not any(r.obligation == "union-2" for r in queries.status(session_factory, today=RELOADED_AT.date()))
    with database_unchanged(loaded), pytest.raises(IllegalTransition, match="已从工作方案中撤销"):
        services.add_note(session_factory, actor=UNION, ref="union-2@2019-Q4", note="补充", now=RELOADED_AT)


def test_a_granted_extension_survives_reloading_the_plan(loaded, session_factory, plan, edited_plan):
    services.request_extension(session_factory, actor=UNION, ref="union-1", new_due=date(2019, 11, 20),
                               reason="企业上报迟缓", now=at(2019, 10, 28))
    services.decide_extension(session_factory, actor=OFFICE, ref="union-1", grant=True, now=at(2019, 10, 29))

    assert not plan_sync.sync_plan(session_factory, plan, now=RELOADED_AT).changed
    plan_sync.sync_plan(session_factory, edited_plan, now=RELOADED_AT)

    view = queries.show(session_factory, ref="union-1")
    assert (view.deliverable.due, view.deliverable.original_due) == (date(2019, 11, 20), date(2019, 10, 31))


def test_dates_the_office_entered_survive_reloading_the_plan(loaded, session_factory, plan):
    services.set_external_date(session_factory, actor=OFFICE, obligation_id="hrss-9", due=date(2019, 11, 10),
                               now=at(2019, 10, 28))
    services.record_event(session_factory, actor=OFFICE, event_id="region-supporting-documents",
                          occurred_on=date(2019, 10, 28), now=at(2019, 10, 28))
    with database_unchanged(loaded):
        assert not plan_sync.sync_plan(session_factory, plan, now=RELOADED_AT).changed


def test_a_plan_that_fails_validation_changes_nothing(loaded, session_factory, tmp_path):
    broken = write_plan(tmp_path, (HRSS_4_DEADLINE, HRSS_4_DEADLINE.replace("2019年10月31日前", "等上级通知再说")))
    with database_unchanged(loaded), pytest.raises(PlanInvalid, match="等上级通知再说"):
        plan_sync.sync_plan(session_factory, load_plan(broken), now=RELOADED_AT)


# ── the audit trail cannot be edited ─────────────────────────────────────────────────────────────


@pytest.mark.parametrize("statement", ["UPDATE audit SET actor = 'nobody' WHERE id = 1", "DELETE FROM audit",
                                       "DELETE FROM audit WHERE action = 'user.added'"])
def test_the_audit_trail_refuses_direct_sql_that_would_change_it(loaded, statement):
    with loaded.raw() as connection, database_unchanged(loaded), pytest.raises(DBAPIError, match="append-only"):
        connection.execute(text(statement))


@pytest.mark.only_on("postgresql", "SQLite has no TRUNCATE: its DELETE without WHERE is refused above")
def test_the_audit_trail_refuses_truncate(loaded):
    # TRUNCATE fires no row trigger: migration 0001 guards it with a statement trigger of its own.
    with loaded.raw() as connection, database_unchanged(loaded), pytest.raises(DBAPIError, match="append-only"):
        connection.execute(text("TRUNCATE audit"))


def test_the_audit_trail_accepts_new_records_through_direct_sql(loaded):
    """Append-only, not read-only: the guard must not stop the services writing."""
    with loaded.raw() as connection:
        connection.execute(text("INSERT INTO audit (at, actor, action) VALUES ('2019-10-24 01:00:00', 'dba', 'test')"))
        connection.commit()
    assert queries.audit_trail(loaded.session_factory, limit=1)[0].actor == "dba"


# ── connection settings, isolation and integrity ────────────────────────────────────────────────────────────────


@pytest.mark.only_on("sqlite",
                     "PRAGMAs are SQLite's; PostgreSQL always enforces foreign keys and needs no busy timeout")
def test_every_connection_has_foreign_keys_wal_and_a_busy_timeout(loaded):
    first, second = loaded.engine.raw_connection(), loaded.engine.raw_connection()  # two live connections
    try:
        for connection in (first, second):
            pragma = lambda name, connection=connection: connection.execute(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
            assert (pragma("foreign_keys"), pragma("journal_mode")) == (1, "wal")
            assert pragma("busy_timeout") > 0
    finally:
        first.close()
        second.close()


def test_reading_the_status_does_not_wait_for_a_writer_holding_the_lock(loaded, session_factory):
    with loaded.raw() as writer:  # on SQLite the UPDATE takes the database's write lock, on PostgreSQL the row's
        writer.execute(text("UPDATE deliverables SET state = 'submitted' WHERE ref = 'hrss-4'"))
        started = time.monotonic()
        rows = queries.status(session_factory, today=date(2019, 11, 1), viewer=OFFICE)
        assert time.monotonic() - started < 2  # SQLite's busy timeout is 10 s: waiting would show
        assert next(r for r in rows if r.id == "hrss-4").state == "open"  # the last committed state
        writer.rollback()


def test_a_write_goes_ahead_while_a_reader_holds_a_snapshot(loaded, session_factory):
    with read_session(session_factory) as reader:
        state = select(Deliverable.state).where(Deliverable.ref == "hrss-4")
        assert reader.scalar(state) == "open"
        services.submit(session_factory, actor=HRSS, ref="hrss-4", now=at(2019, 10, 30), note="已办结")
        assert reader.scalar(state) == "open"  # one read session, one point in time
    assert queries.show(session_factory, ref="hrss-4").deliverable.state == "submitted"


def test_a_row_pointing_at_nothing_is_refused(loaded, session_factory):
    with database_unchanged(loaded), pytest.raises(IntegrityError, match="(?i)FOREIGN KEY"):
        with session_factory.begin() as session:
            session.execute(insert(Evidence).values(deliverable_id=999_999, added_at=at(2019, 10, 24), added_by=HRSS,
                                                    kind="link", url="https://example.gov.cn/"))


# ── lost updates ─────────────────────────────────────────────────────────────────────────────────


def test_a_reviewer_who_looked_at_an_old_version_cannot_overwrite_the_newer_decision(loaded, session_factory):
    services.add_user(session_factory, name="office-2", role="office", now=at(2019, 10, 29))
    services.submit(session_factory, actor=HRSS, ref="hrss-4", now=at(2019, 10, 30), note="已办结")
    first_look = queries.show(session_factory, ref="hrss-4", viewer=OFFICE).deliverable.version
    second_look = queries.show(session_factory, ref="hrss-4", viewer="office-2").deliverable.version
    assert first_look == second_look

    services.accept(session_factory, actor=OFFICE, ref="hrss-4", now=at(2019, 10, 31, 10), expected_version=first_look)
    with database_unchanged(loaded), pytest.raises(StaleDeliverable) as stale:
        services.return_for_rework(session_factory, actor="office-2", ref="hrss-4", reason="材料不全",
                                   now=at(2019, 10, 31, 11), expected_version=second_look)

    assert "hrss-4 已于 2019-10-31 10:00 由 office 修改" in str(stale.value)
    assert f"您看到的是版本 {second_look}" in str(stale.value)
    view = queries.show(session_factory, ref="hrss-4")
    assert (view.deliverable.state, view.deliverable.updated_by) == ("accepted", OFFICE)
    assert [a.action for a in view.history][-2:] == ["submit", "accept"]


def test_two_reviewers_deciding_at_the_same_moment_cannot_both_win(loaded, session_factory):
    """On SQLite write transactions take the write lock up front, so the second one sees the first one's result;
    on PostgreSQL the second one's versioned UPDATE waits for the first to commit, then matches no row."""
    services.add_user(session_factory, name="office-2", role="office", now=at(2019, 10, 29))
    services.submit(session_factory, actor=HRSS, ref="hrss-4", now=at(2019, 10, 30), note="已办结")
    version = queries.show(session_factory, ref="hrss-4").deliverable.version
    start, outcomes = threading.Barrier(2), {}

    def decide(actor: str, decision) -> None:
        start.wait()
        try:
            decision(actor)
            outcomes[actor] = "done"
        except (StaleDeliverable, IllegalTransition) as refused:
            outcomes[actor] = type(refused).__name__

    threads = [
        threading.Thread(target=decide, args=(OFFICE, lambda who: services.accept(
            session_factory, actor=who, ref="hrss-4", now=at(2019, 10, 31), expected_version=version))),
        threading.Thread(target=decide, args=("office-2", lambda who: services.return_for_rework(
            session_factory, actor=who, ref="hrss-4", reason="材料不全", now=at(2019, 10, 31),
            expected_version=version))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()) == ["StaleDeliverable", "done"]
    view = queries.show(session_factory, ref="hrss-4")
    winner = next(actor for actor, outcome in outcomes.items() if outcome == "done")
    assert view.deliverable.updated_by == winner
    assert [a.action for a in view.history].count("submit") == 1 and len(view.history) == 3


@pytest.mark.slow
def test_one_name_added_twice_at_once_makes_one_user_and_the_second_is_told_it_is_taken(loaded):
    # The gate: an insert of the same name by someone else that is never committed.
    gate = ("INSERT INTO users (name, role, created_at, disabled) "
            "VALUES ('王春', 'office', '2019-10-29 01:00:00', FALSE)")
    outcomes = at_once(loaded, gate,
                       *(lambda sf: services.add_user(sf, name="王春", role="office", now=at(2019, 10, 29)),
                         lambda sf: services.add_user(sf, name="王春", role="leader", now=at(2019, 10, 29))))
    assert sorted(outcomes) == ["done", "已有名为“王春”的用户,请换一个用户名"], outcomes


@pytest.mark.slow
def test_two_co_units_adding_notes_to_one_deliverable_at_once_both_get_them_recorded(loaded):
    # Neither asked for a version (--expect-version): nothing of the one's conflicts with the other's.
    ref = "work-1.guiping@2019-Q4"
    outcomes = at_once(loaded, f"UPDATE deliverables SET state = state WHERE ref = '{ref}'", *(
        lambda sf, who=who: services.add_note(sf, actor=who, ref=ref, note=f"{who} 的进展", now=at(2019, 10, 30))
        for who in (HRSS, UNION)))
    assert outcomes == ["done", "done"]
    view = queries.show(loaded.session_factory, ref=ref)
    assert sorted(a.actor for a in view.history if a.action == "note") == sorted([HRSS, UNION])
    assert view.deliverable.version == 3


@pytest.mark.slow
def test_two_people_recording_one_event_at_once_with_different_dates_cannot_both_win(loaded):
    services.add_user(loaded.session_factory, name="office-2", role="office", now=at(2019, 10, 29))
    recorders = ((OFFICE, date(2019, 11, 1)), ("office-2", date(2019, 11, 4)))
    outcomes = at_once(loaded, "UPDATE events SET name = name WHERE id = 'region-supporting-documents'", *(
        lambda sf, who=who, day=day: services.record_event(sf, actor=who, event_id="region-supporting-documents",
                                                           occurred_on=day, now=at(2019, 11, 4))
        for who, day in recorders))
    assert "done" in outcomes, outcomes
    winner = outcomes.index("done")
    who, day = recorders[winner]
    assert outcomes[1 - winner] == (f"事件 region-supporting-documents 已由 {who} 记录为 {day},不能再改为其他日期")
    assert queries.show(loaded.session_factory, ref="hrss-2").history[0].note.endswith(str(day))


@pytest.mark.slow
def test_two_people_setting_the_same_outside_date_at_once_get_one_deliverable(loaded):
    services.add_user(loaded.session_factory, name="office-2", role="office", now=at(2019, 10, 29))
    outcomes = at_once(loaded, "UPDATE obligations SET task = task WHERE id = 'hrss-9'", *(
        lambda sf, who=who: services.set_external_date(sf, actor=who, obligation_id="hrss-9", due=date(2019, 11, 10),
                                                       now=at(2019, 10, 30))
        for who in (OFFICE, "office-2")))
    assert sorted(outcomes) == ["done", "hrss-9 已有截止于 2019-11-10 的应交事项,无需再设"], outcomes


def test_the_expected_version_passes_when_nobody_else_changed_the_deliverable(loaded, session_factory):
    version = queries.show(session_factory, ref="hrss-4").deliverable.version
    change = services.submit(session_factory, actor=HRSS, ref="hrss-4", now=at(2019, 10, 30), note="已办结",
                             expected_version=version)
    assert change.version == version + 1


# ── migrations ───────────────────────────────────────────────────────────────────────────────────


def test_the_models_match_the_schema_the_migrations_build(database):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from responsibilities.storage.model import Base

    def compare_type(context, inspected, metadata, inspected_type, metadata_type):
        # SQLite keeps no VARCHAR length (migration 0010 widens the keys' columns on PostgreSQL only).
        if (context.dialect.name == "sqlite" and isinstance(inspected_type, String)
                and isinstance(metadata_type, String)):
            return False
        return None  # the default comparison

    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": compare_type})
        differences = compare_metadata(context, Base.metadata)
    if database.dialect == "sqlite":  # SQLite adds these columns nullable and without their foreign key (0010)
        differences = [d for d in differences if not _kept_by_the_application_on_sqlite(d)]
    assert differences == []


def _kept_by_the_application_on_sqlite(difference) -> bool:
    kept = {("obligations", "plan_id"), ("obligations", "ref"), ("deliverables", "plan_id"), ("deliverables", "ref"),
            ("notices", "plan_id")}
    change = difference[0] if isinstance(difference, list) else difference
    if change[0] == "modify_nullable":
        return (change[2], change[3]) in kept
    if change[0] == "add_fk":
        return (change[1].table.name, change[1].column_keys[0]) in kept
    return False


def test_head_names_the_newest_migration_script():
    assert migrate.HEAD == ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head()


def test_the_fixture_database_is_at_head_and_a_second_upgrade_does_nothing(database):
    assert migrate.current_revision(database.engine) == migrate.HEAD
    migrate.require_current(database.engine)
    database.close()
    with database_unchanged(database):
        assert migrate.upgrade(database.engine) == (migrate.HEAD, migrate.HEAD)


def downgrade(database, revision: str) -> None:  # a Database
    from alembic import command

    with database.engine.begin() as connection:
        command.downgrade(migrate._config(connection), revision)


def test_every_migration_goes_down_step_by_step_to_nothing_and_up_again_to_the_same_schema(database):
    """Each downgrade undoes its upgrade, PostgreSQL's plpgsql functions and triggers included."""
    at_head = database.dump()
    landings = [script.down_revision for script in ScriptDirectory(str(migrate.MIGRATIONS)).walk_revisions()]
    assert len(landings) == int(migrate.HEAD) and landings[-1] is None  # head first, one step each
    for revision in landings:
        downgrade(database, revision or "base")
        assert migrate.current_revision(database.engine) == revision
    assert [line for line in database.dump() if "alembic_version" not in line] == []  # nothing left behind
    migrate.upgrade(database.engine)
    assert database.dump() == at_head


def test_a_database_without_the_schema_is_refused_with_what_to_run(tmp_path):
    from responsibilities.storage.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    try:
        with pytest.raises(migrate.SchemaOutOfDate, match="duban db upgrade"):
            migrate.require_current(engine)
    finally:
        engine.dispose()


# ── bad input leaves the database unchanged ──────────────────────────────────────────────────────


@pytest.mark.parametrize("attempt", [
    lambda sf: services.submit(sf, actor=HRSS, ref="hrss-99", now=at(2019, 10, 30)),
    lambda sf: services.add_note(sf, actor=HRSS, ref="hrss-4@2019-Q4", note="进展", now=at(2019, 10, 30)),
    lambda sf: services.accept(sf, actor=OFFICE, ref="nothing", now=at(2019, 10, 30)),
    lambda sf: services.submit(sf, actor="nobody", ref="hrss-4", now=at(2019, 10, 30)),
    lambda sf: services.record_event(sf, actor=OFFICE, event_id="no-such-event", occurred_on=date(2019, 10, 24),
                                     now=at(2019, 10, 30)),
    lambda sf: services.set_external_date(sf, actor=OFFICE, obligation_id="hrss-99", due=date(2019, 11, 10),
                                          now=at(2019, 10, 30)),
    lambda sf: services.add_user(sf, name="clerk", role="unit:no-such-unit", now=at(2019, 10, 30)),
], ids=["submit", "note", "accept", "unknown user", "event", "external date", "user of an unknown unit"])
def test_an_unknown_reference_is_not_found_and_changes_nothing(attempt, loaded, session_factory):
    with database_unchanged(loaded), pytest.raises(NotFound):
        attempt(session_factory)


def test_an_obligation_with_periods_is_not_found_by_its_bare_id_and_the_message_shows_the_periods(
        loaded, session_factory):
    with pytest.raises(NotFound, match=r"例如 work-1\.guiping@"):
        services.add_note(session_factory, actor=HRSS, ref="work-1.guiping", note="进展", now=at(2019, 10, 30))


def _waived(sf):
    services.waive(sf, actor=OFFICE, ref="hrss-4", reason="不再需要", now=at(2019, 10, 28))


def _accepted(sf):
    services.submit(sf, actor=HRSS, ref="hrss-4", now=at(2019, 10, 28), note="已办结")
    services.accept(sf, actor=OFFICE, ref="hrss-4", now=at(2019, 10, 29))


@pytest.mark.parametrize(("prepare", "attempt", "match"), [
    (lambda sf: None, lambda sf: services.accept(sf, actor=OFFICE, ref="hrss-4", now=at(2019, 10, 30)),
     "当前状态为“待办”,不能审核销号"),
    (lambda sf: None, lambda sf: services.return_for_rework(sf, actor=OFFICE, ref="hrss-4", reason="材料不全",
                                                           now=at(2019, 10, 30)), "当前状态为“待办”,不能退回"),
    (_waived, lambda sf: services.submit(sf, actor=HRSS, ref="hrss-4", now=at(2019, 10, 30)),
     "当前状态为“免报”,不能报送办结"),
    (_accepted, lambda sf: services.return_for_rework(sf, actor=OFFICE, ref="hrss-4", reason="材料不全",
                                                     now=at(2019, 10, 30)), "当前状态为“已销号”,不能退回"),
    (_accepted, lambda sf: services.waive(sf, actor=OFFICE, ref="hrss-4", reason="不再需要", now=at(2019, 10, 30)),
     "当前状态为“已销号”,不能免报"),
    (_accepted, lambda sf: services.request_extension(sf, actor=HRSS, ref="hrss-4", new_due=date(2019, 11, 8),
                                                     reason="场地改期", now=at(2019, 10, 30)),
     "当前状态为“已销号”,不能申请延期"),
    (lambda sf: None, lambda sf: services.decide_extension(sf, actor=OFFICE, ref="hrss-4", grant=True,
                                                          now=at(2019, 10, 30)), "没有待审批的延期申请"),
], ids=["accept an open one", "return an open one", "submit a waived one", "return an accepted one",
        "waive an accepted one", "extend an accepted one", "grant what nobody asked"])
def test_an_illegal_transition_is_refused_and_changes_nothing(prepare, attempt, match, loaded, session_factory):
    prepare(session_factory)
    with database_unchanged(loaded), pytest.raises(IllegalTransition, match=match):
        attempt(session_factory)


@pytest.mark.parametrize(("attempt", "match"), [
    (lambda sf: services.record_event(sf, actor=OFFICE, event_id="region-supporting-documents",
                                      occurred_on=date(2030, 1, 1), now=at(2019, 10, 30)),
     "事件日期 2030-01-01 不在工作方案实施期内"),
    (lambda sf: services.record_event(sf, actor=OFFICE, event_id="region-supporting-documents",
                                      occurred_on=date(2019, 11, 20), now=at(2019, 11, 19, 23, 59)),
     "2019-11-20 尚未到来"),
    (lambda sf: services.set_external_date(sf, actor=OFFICE, obligation_id="hrss-9", due=date(2018, 1, 1),
                                           now=at(2019, 10, 30)), "期限 2018-01-01 不在工作方案实施期内"),
    (lambda sf: services.request_extension(sf, actor=HRSS, ref="hrss-4", new_due=date(2019, 10, 30),
                                           reason="场地改期", now=at(2019, 10, 25)),
     "新的截止日期 2019-10-30 须晚于当前截止日期 2019-10-31"),
    (lambda sf: services.request_extension(sf, actor=HRSS, ref="hrss-4", new_due=date(2030, 1, 1),
                                           reason="场地改期", now=at(2019, 10, 25)),
     "新的截止日期 2030-01-01 不在工作方案实施期内"),
    (lambda sf: services.add_user(sf, name="boss", role="admin", now=at(2019, 10, 25)), "角色“admin”无效"),
    (lambda sf: services.add_user(sf, name=HRSS, role="unit:hrss", now=at(2019, 10, 25)), f"已有名为“{HRSS}”的用户"),
    (lambda sf: services.add_user(sf, name="贵港市人力资源和社会保障局" * 5, role="unit:hrss", now=at(2019, 10, 25)),
     "用户名不能超过 64 个字符"),
], ids=["event in 2030", "event tomorrow", "external date in 2018", "extension to an earlier day",
        "extension past the plan", "unknown role", "duplicate user", "a name too long to store"])
def test_a_date_or_value_outside_what_the_plan_allows_is_invalid_and_changes_nothing(attempt, match, loaded,
                                                                                     session_factory):
    with database_unchanged(loaded), pytest.raises(InvalidInput, match=match):
        attempt(session_factory)


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "材料"
    folder.mkdir()
    (folder / "a.pdf").write_bytes(b"%PDF-1.4\n")
    return folder


def _program(tmp_path: Path) -> Path:
    path = tmp_path / "总结报告.exe"
    path.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(range(256)) * 4)
    return path


def _program_named_pdf(tmp_path: Path) -> Path:
    path = tmp_path / "总结报告.pdf"
    path.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(range(256)) * 4)
    return path


def _missing(tmp_path: Path) -> Path:
    return tmp_path / "不存在.pdf"


@pytest.mark.parametrize(("make", "match"), [
    (_folder, "材料:这是文件夹,不是文件"), (_program, "总结报告.exe:不接收此类文件"),
    (_program_named_pdf, "总结报告.pdf:不接收此类文件"), (_missing, "不存在.pdf:无法读取,文件不存在"),
], ids=["a folder", "a program", "a program named .pdf", "a missing file"])
def test_rejected_evidence_leaves_no_evidence_row_and_no_state_change(make, match, loaded, session_factory, tmp_path,
                                                                      evidence_store):
    good = tmp_path / "签到表.pdf"
    good.write_bytes(b"%PDF-1.4\n%%EOF\n")
    with database_unchanged(loaded), pytest.raises(InvalidInput, match=match):
        services.submit(session_factory, actor=HRSS, ref="hrss-4", now=at(2019, 10, 30), note="已办结",
                        files=[good, make(tmp_path)], links=["https://hrss.guigang.example/a"],
                        evidence_store=evidence_store)
    assert loaded.count("evidence") == 0
    assert queries.show(session_factory, ref="hrss-4").deliverable.state == "open"


@pytest.mark.parametrize("link", ["ftp://files.guigang.example/a.pdf", "https://user:secret@hrss.guigang.example/",
                                  "https://hrss.guigang.example/有 空格"])
def test_a_rejected_link_is_invalid_input_and_changes_nothing(link, loaded, session_factory):
    with database_unchanged(loaded), pytest.raises(InvalidInput):
        services.submit(session_factory, actor=HRSS, ref="hrss-4", now=at(2019, 10, 30), links=[link])


def test_evidence_files_without_a_store_are_refused(loaded, session_factory, tmp_path):
    good = tmp_path / "签到表.pdf"
    good.write_bytes(b"%PDF-1.4\n%%EOF\n")
    with database_unchanged(loaded), pytest.raises(InvalidInput, match="未配置佐证材料的存放位置"):
        services.submit(session_factory, actor=HRSS, ref="hrss-4", now=at(2019, 10, 30), files=[good])


def test_naive_datetimes_are_refused_before_anything_is_written(loaded, session_factory):
    with database_unchanged(loaded), pytest.raises(ValueError, match="must be an aware datetime"):
        services.add_note(session_factory, actor=HRSS, ref="hrss-4", note="进展",
                          now=at(2019, 10, 30).replace(tzinfo=None))
