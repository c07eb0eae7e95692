"""The dashboard's and the workspace's SQL, on the points its speed rests on (benchmarks/web_benchmark.py)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import Date, bindparam, text

from responsibilities.reading import board, lights, queries, workspace
from responsibilities.storage import migrate, plan_sync
from responsibilities.storage.model import STATES
from responsibilities.tracking import services

from conftest import FINANCE, HRSS, OFFICE, SEED_ID, UNION, at, at_once

pytestmark = pytest.mark.both_databases

DAY = at(2019, 10, 28)


def test_an_obligation_that_left_the_plan_leaves_the_dashboard_and_the_workspace_with_its_deliverables(
        loaded, plan) -> None:
    # board reads only the deliverable's own retired flag: retiring an obligation must retire its deliverables.
    before = board.board(loaded.session_factory, today=DAY.date(), viewer=OFFICE)
    smaller = replace(plan, obligations=tuple(o for o in plan.obligations if o.id != "hrss-4"))
    plan_sync.sync_plan(loaded.session_factory, smaller, now=DAY)
    after = board.board(loaded.session_factory, today=DAY.date(), viewer=OFFICE)
    assert sum(after.totals.values()) == sum(before.totals.values()) - 1
    refs = {r.ref for r in workspace.workspace(loaded.session_factory, today=DAY.date(), viewer=HRSS, unit="hrss",
                                               size=200).items}
    assert "hrss-4" not in refs and "hrss-1" in refs


def test_the_workspace_filtered_by_state_keeps_to_the_units_own_and_cooperating_rows(loaded) -> None:
    for actor, ref in ((HRSS, "hrss-4"), (FINANCE, "finance-1")):
        services.submit(loaded.session_factory, actor=actor, ref=ref, now=DAY, note="已办结")
        services.return_for_rework(loaded.session_factory, actor=OFFICE, ref=ref, reason="缺少材料", now=DAY)
    returned = workspace.workspace(loaded.session_factory, today=DAY.date(), viewer=HRSS, unit="hrss",
                                   state="returned")
    assert [(r.ref, r.returned_reason) for r in returned.items] == [("hrss-4", "缺少材料")] and returned.total == 1


def test_extension_requests_and_the_kind_filter_find_their_rows_without_a_join(loaded) -> None:
    services.request_extension(loaded.session_factory, actor=HRSS, ref="hrss-4",
                               new_due=DAY.date().replace(month=11, day=15), reason="会议改期", now=DAY)
    pending = board.extension_requests(loaded.session_factory, today=DAY.date(), viewer=OFFICE)
    assert [r.ref for r in pending.items] == ["hrss-4"] and pending.items[0].task
    periodic = board.board(loaded.session_factory, today=DAY.date(), viewer=OFFICE,
                           filters=board.Filters(kind="periodic"))
    fixed = board.board(loaded.session_factory, today=DAY.date(), viewer=OFFICE, filters=board.Filters(kind="fixed"))
    assert 0 < sum(periodic.totals.values()) and 0 < sum(fixed.totals.values())
    later = DAY.date().replace(month=11, day=5)  # the request is still pending: hrss-4 is overdue
    overdue = {r.ref for r in board.overdue(loaded.session_factory, today=later, viewer=OFFICE,
                                            filters=board.Filters(kind="fixed"), size=200).items}
    assert "hrss-4" in overdue
    assert not overdue & {r.ref for r in board.overdue(loaded.session_factory, today=later, viewer=OFFICE,
                                                       filters=board.Filters(kind="periodic"), size=200).items}


# ── the matrix from the counts the database keeps (deliverable_counts, migration 0006) ─────────────────────────

DAYS = [date(2019, 9, 2), date(2019, 10, 28), date(2019, 10, 31), date(2019, 11, 4), date(2019, 12, 20),
        date(2020, 6, 15), date(2021, 1, 4)]


def _matrix(b: board.Board) -> dict[str, dict[str, int]]:
    return {r.unit: dict(r.counts) for r in b.matrix.items}


def _counted(rows) -> dict[str, dict[str, int]]:
    """Status rows' lights per unit: the straightforward computation, by rules.light in Python."""
    counts: dict[str, dict[str, int]] = {}
    for r in rows:
        counts.setdefault(r.unit, dict.fromkeys(board.LIGHTS, 0))[r.light] += 1
    return counts


def _from_status(session_factory, today: date) -> dict[str, dict[str, int]]:
    return _counted(queries.status(session_factory, today=today, viewer=OFFICE))


def _kept_equals_a_fresh_count(database) -> None:
    with database.raw() as con:
        kept = {(u, s, bool(d)): n for u, s, d, n in con.execute(text(
            "SELECT unit_id, state, dated, n FROM deliverable_counts WHERE n != 0"))}
        fresh = {(u, s, bool(d)): n for u, s, d, n in con.execute(text(
            "SELECT unit_id, state, due IS NOT NULL, count(*) FROM deliverables WHERE NOT retired "
            "GROUP BY unit_id, state, due IS NOT NULL"))}
        kept_by_plan = {(p, u, s, bool(d)): n for p, u, s, d, n in con.execute(text(
            "SELECT plan_id, unit_id, state, dated, n FROM deliverable_plan_counts WHERE n != 0"))}
        fresh_by_plan = {(p, u, s, bool(d)): n for p, u, s, d, n in con.execute(text(
            "SELECT plan_id, unit_id, state, due IS NOT NULL, count(*) FROM deliverables WHERE NOT retired "
            "GROUP BY plan_id, unit_id, state, due IS NOT NULL"))}
    assert kept == fresh
    assert kept_by_plan == fresh_by_plan


def _lights_equal_a_fresh_count(database) -> None:
    """The lights kept for the stored day are those every deliverable has on that day, by rules.light."""
    with database.raw() as con:
        today = con.execute(text("SELECT today FROM lights_day").columns(today=Date())).scalar_one()
        kept = {u: dict(zip(board.LIGHTS, c, strict=True)) for u, *c in con.execute(text(
            "SELECT unit_id, red, yellow, green, grey FROM unit_lights")) if any(c)}
    status = queries.status(database.session_factory, today=today, viewer=OFFICE)
    # an obligation still without deliverables (awaiting an event or a date) has none to keep
    assert kept == _counted(r for r in status if not r.state.startswith("awaiting_")), today


def _check_every_way(database, days=DAYS) -> None:
    _kept_equals_a_fresh_count(database)
    sf = database.session_factory
    for today in days:
        slow = board.board_by_aggregate(sf, today=today, viewer=OFFICE)
        before_the_sweep = board.board(sf, today=today, viewer=OFFICE)  # the kept lights are another day's
        lights.keep_up(sf, today)  # what the day's sweep does
        fast = board.board(sf, today=today, viewer=OFFICE)
        _lights_equal_a_fresh_count(database)
        assert fast == slow == before_the_sweep, today
        assert _matrix(fast) == _from_status(sf, today), today
        assert [r.unit for r in fast.matrix.items] == [r.unit for r in slow.matrix.items]
        for page in (1, 3, 7, 8):  # pages of 4 units (27 in all): the last one part full, then one past the end
            assert board.board(sf, today=today, viewer=OFFICE, page=page, size=4) == board.board_by_aggregate(
                sf, today=today, viewer=OFFICE, page=page, size=4), page
        for filters in (board.Filters(unit="hrss"), board.Filters(state="open"), board.Filters(state="returned"),
                        board.Filters(state="submitted"), board.Filters(state="accepted"),
                        board.Filters(unit="finance", state="open"), board.Filters(plan=SEED_ID),
                        board.Filters(plan=SEED_ID, unit="hrss"), board.Filters(plan=SEED_ID, state="open")):
            assert board.board(sf, today=today, viewer=OFFICE, filters=filters) == board.board_by_aggregate(
                sf, today=today, viewer=OFFICE, filters=filters), (today, filters)


@pytest.mark.slow
def test_the_kept_counts_give_the_same_matrix_as_the_aggregate_and_the_rules_after_every_kind_of_change(
        loaded, plan) -> None:
    sf = loaded.session_factory
    _check_every_way(loaded)
    services.submit(sf, actor=HRSS, ref="hrss-4", now=DAY, note="已办结")
    _check_every_way(loaded)
    services.return_for_rework(sf, actor=OFFICE, ref="hrss-4", reason="缺少材料", now=DAY)
    _check_every_way(loaded)
    services.submit(sf, actor=HRSS, ref="hrss-4", now=DAY, note="补充材料")
    services.accept(sf, actor=OFFICE, ref="hrss-4", now=DAY)
    _check_every_way(loaded)
    services.waive(sf, actor=OFFICE, ref="finance-1", reason="不再需要", now=DAY)
    _check_every_way(loaded)
    services.request_extension(sf, actor=UNION, ref="union-1", new_due=date(2019, 11, 30), reason="会议改期", now=DAY)
    services.decide_extension(sf, actor=OFFICE, ref="union-1", grant=True, now=DAY)
    _check_every_way(loaded)
    services.record_event(sf, actor=OFFICE, event_id="region-supporting-documents", occurred_on=date(2019, 10, 20),
                          now=DAY)  # dates the deliverables that waited for it: inserts
    _check_every_way(loaded)
    services.set_external_date(sf, actor=OFFICE, obligation_id="hrss-9", due=date(2019, 11, 10), now=DAY)
    _check_every_way(loaded)
    smaller = replace(plan, obligations=tuple(o for o in plan.obligations if o.id not in ("hrss-4", "union-1")))
    plan_sync.sync_plan(sf, smaller, now=DAY)  # retires their deliverables
    _check_every_way(loaded)
    plan_sync.sync_plan(sf, plan, now=DAY)  # and back
    _check_every_way(loaded)


def _lights_day(database):
    with database.raw() as con:
        return con.execute(text("SELECT today, soon_before FROM lights_day")
                           .columns(today=Date(), soon_before=Date())).all()


def test_reading_the_dashboard_before_the_days_sweep_writes_nothing_and_shows_that_days_lights(loaded) -> None:
    sf = loaded.session_factory
    lights.keep_up(sf, date(2019, 10, 28))
    kept = _lights_day(loaded)
    dashboard = board.dashboard(sf, today=date(2019, 11, 4), viewer=OFFICE)
    assert _lights_day(loaded) == kept  # still the 28th's: a GET does not move them
    assert dashboard.board == board.board_by_aggregate(sf, today=date(2019, 11, 4), viewer=OFFICE)
    assert _matrix(dashboard.board) == _from_status(sf, date(2019, 11, 4))


def test_the_sweep_job_moves_the_kept_lights_to_its_day_working_day_or_not(loaded, tmp_path) -> None:
    from workflows.runtime import Runtime, fixed_clock
    from workflows.schedule import jobs
    from workflows.settings import Settings

    settings = replace(Settings.from_environment(), database_url=loaded.url, reports_dir=tmp_path)
    for day in (date(2019, 11, 2), date(2019, 11, 4)):  # a Saturday, then a Monday
        with Runtime(settings, clock=fixed_clock(at(day.year, day.month, day.day, 7))) as runtime:
            jobs.sweep(runtime=runtime)
        assert [row.today for row in _lights_day(loaded)] == [day]
    _lights_equal_a_fresh_count(loaded)


def test_the_counts_follow_any_change_made_by_direct_sql_property_style(loaded) -> None:
    """Random inserts, updates of every counted column (the plan too), and deletes, straight in SQL: the kept counts
    always equal a fresh GROUP BY, and the matrix the aggregate's."""
    rng = random.Random(20191028)
    lights.keep_up(loaded.session_factory, date(2019, 10, 28))  # from here on the triggers keep that day's lights
    with loaded.session_factory() as session:  # the day and the due-soon day, and the days either side of each
        soon = lights.soon_before(session, date(2019, 10, 28))
    edges = [d + timedelta(days=k) for d in (date(2019, 10, 28), soon) for k in (-1, 0, 1)]
    days = [date(2019, 10, 1), date(2019, 10, 31), date(2019, 11, 4), date(2020, 1, 15), *edges]
    with loaded.raw() as con:
        sql = lambda statement: text(statement).bindparams(bindparam("due", type_=Date()))  # noqa: E731
        ids = [i for (i,) in con.execute(text("SELECT id FROM deliverables ORDER BY id"))]
        units = [u for (u,) in con.execute(text("SELECT id FROM units ORDER BY id"))]
        template = con.execute(text(
            "SELECT obligation_id, updated_at, updated_by FROM deliverables ORDER BY id LIMIT 1")).one()
        plans = [SEED_ID, "zz-probe-plan"]  # a copy of the seed plan's row, after it in the office's order
        con.execute(text('INSERT INTO plans (id, title, short_name, document_number, time_zone, start, "end", '
                         "published_on, settings, loaded_at, kind) SELECT :p, title, short_name, document_number, "
                         'time_zone, start, "end", published_on, settings, loaded_at, kind FROM plans '
                         "WHERE id = :seed"), {"p": plans[1], "seed": SEED_ID})
        for step in range(300):
            what = rng.choice(["state", "due", "unit", "retired", "plan", "several", "insert", "delete"])
            target = rng.choice(ids)
            due = rng.choice([None, *days])
            if what == "state":
                con.execute(text("UPDATE deliverables SET state = :s WHERE id = :id"),
                            {"s": rng.choice(STATES), "id": target})
            elif what == "due":
                con.execute(sql("UPDATE deliverables SET due = :due WHERE id = :id"), {"due": due, "id": target})
            elif what == "unit":
                con.execute(text("UPDATE deliverables SET unit_id = :u WHERE id = :id"),
                            {"u": rng.choice(units), "id": target})
            elif what == "plan":
                con.execute(text("UPDATE deliverables SET plan_id = :p WHERE id = :id"),
                            {"p": rng.choice(plans), "id": target})
            elif what == "retired":
                con.execute(text("UPDATE deliverables SET retired = :r WHERE id = :id"),
                            {"r": bool(rng.randint(0, 1)), "id": target})
            elif what == "several":
                con.execute(sql("UPDATE deliverables SET state = :s, due = :due, retired = :r, unit_id = :u "
                                "WHERE id IN (:id, :other)"),
                            {"s": rng.choice(STATES), "due": due, "r": bool(rng.randint(0, 1)), "u": rng.choice(units),
                             "id": target, "other": rng.choice(ids)})
            elif what == "insert":
                ids.append(con.execute(sql(
                    "INSERT INTO deliverables (ref, qualified_ref, plan_id, obligation_id, unit_id, period, due, "
                    "state, retired, set_by_office, updated_at, updated_by, version) "
                    "VALUES (:ref, :qualified, 'guigang-skills-2019', :o, :u, :ref, :due, :s, :r, FALSE, "
                    ":at, :by, 1) "
                    "RETURNING id"),
                    {"ref": f"probe-{step}", "qualified": f"probe:probe-{step}", "o": template[0],
                     "u": rng.choice(units), "due": due,
                     "s": rng.choice(STATES), "r": bool(rng.randint(0, 1)), "at": template[1],
                     "by": template[2]}).scalar_one())
            elif what == "delete" and len(ids) > 10:  # nothing refers to a deliverable here: no foreign key objects
                ids.remove(target)
                con.execute(text("DELETE FROM deliverables WHERE id = :id"), {"id": target})
            con.commit()
            if step % 25 == 0:
                _kept_equals_a_fresh_count(loaded)
                _lights_equal_a_fresh_count(loaded)
    _check_every_way(loaded, days=[date(2019, 10, 28), date(2019, 11, 4)])


def test_the_lights_kept_for_one_day_move_to_any_other_day_forward_or_back(loaded) -> None:
    # Steps of a day, over a weekend and a holiday (National Day 2019), a jump of a year and back: after each
    # move only the deliverables whose light changed were re-counted, and the lights equal a fresh count.
    sf = loaded.session_factory
    services.submit(sf, actor=HRSS, ref="hrss-4", now=DAY, note="已办结")
    services.return_for_rework(sf, actor=OFFICE, ref="hrss-4", reason="缺少材料", now=DAY)
    rng = random.Random(2019)
    days = [date(2019, 9, 27), date(2019, 9, 28), date(2019, 9, 30), date(2019, 10, 8), date(2019, 10, 31),
            date(2019, 11, 1), date(2020, 11, 2), date(2019, 10, 29)]
    days += [date(2019, 9, 1) + timedelta(days=rng.randrange(900)) for _ in range(12)]
    for today in days:
        # before the day's sweep: the lights kept for the day before, moved in the read (a page, a unit)
        for filters, page in ((board.Filters(), 2), (board.Filters(unit="hrss"), 1)):
            assert board.board(sf, today=today, viewer=OFFICE, filters=filters, page=page, size=4) == (
                board.board_by_aggregate(sf, today=today, viewer=OFFICE, filters=filters, page=page, size=4)), today
        lights.keep_up(sf, today)
        _lights_equal_a_fresh_count(loaded)
        assert board.board(sf, today=today, viewer=OFFICE) == board.board_by_aggregate(
            sf, today=today, viewer=OFFICE), today


@pytest.mark.slow
def test_two_requests_moving_the_lights_to_a_new_day_at_once_count_each_change_once(loaded) -> None:
    # Two web workers' first dashboards of the day: one moves the lights, the other finds them moved.
    lights.keep_up(loaded.session_factory, date(2019, 10, 28))
    outcomes = at_once(loaded, "UPDATE lights_day SET today = today WHERE id = 1",
                       *(lambda sf: lights.keep_up(sf, date(2019, 11, 4)),) * 2)
    assert outcomes == ["done", "done"]
    _lights_equal_a_fresh_count(loaded)


@pytest.mark.slow
def test_the_lights_are_counted_once_when_two_first_requests_ever_count_them_at_once(loaded) -> None:
    # No day kept yet: both would count every deliverable and store the day. The gate: a unit's counts held.
    with loaded.raw() as con:
        con.execute(text("INSERT INTO unit_lights (unit_id, red, yellow, green, grey) VALUES ('hrss', 0, 0, 0, 0)"))
        con.commit()
    outcomes = at_once(loaded, "UPDATE unit_lights SET red = red WHERE unit_id = 'hrss'",
                       *(lambda sf: lights.keep_up(sf, date(2019, 11, 4)),) * 2)
    assert outcomes == ["done", "done"]
    _lights_equal_a_fresh_count(loaded)


@pytest.mark.slow
def test_a_change_while_the_lights_move_to_a_new_day_is_counted_for_the_new_day(loaded) -> None:
    # hrss-4 (due 2019-10-31) is yellow on 28 October and red on 4 November; it is submitted while the move runs.
    lights.keep_up(loaded.session_factory, date(2019, 10, 28))
    outcomes = at_once(loaded, "UPDATE unit_lights SET red = red WHERE unit_id = 'hrss'",
                       lambda sf: lights.keep_up(sf, date(2019, 11, 4)),
                       lambda sf: services.submit(sf, actor=HRSS, ref="hrss-4", now=DAY, note="已办结"))
    assert outcomes == ["done", "done"]
    _lights_equal_a_fresh_count(loaded)


def test_the_matrix_shows_one_page_of_units_worst_first_with_totals_over_every_unit(loaded) -> None:
    sf = loaded.session_factory
    today = date(2019, 11, 4)
    whole = board.board(sf, today=today, viewer=OFFICE, size=200)
    pages = [board.board(sf, today=today, viewer=OFFICE, page=n, size=10) for n in (1, 2, 3)]
    assert whole.matrix.total == 27 and [p.matrix.pages for p in pages] == [3, 3, 3]
    assert [len(p.matrix.items) for p in pages] == [10, 10, 7]
    assert [r for p in pages for r in p.matrix.items] == whole.matrix.items
    assert all(p.totals == whole.totals for p in pages)
    assert sum(whole.totals.values()) == sum(r.total for r in whole.matrix.items)
    first = pages[0].matrix.items
    assert first[0].unit == "hrss" and first[0].counts["red"] == max(r.counts["red"] for r in whole.matrix.items)
    keys = [(-r.counts["red"], -r.counts["yellow"], r.unit) for r in whole.matrix.items]
    assert keys == sorted(keys)
    assert board.board(sf, today=today, viewer=OFFICE, page=4, size=10).matrix.items == []


def test_the_overdue_list_pages_through_every_red_deliverable_once_most_overdue_first(loaded) -> None:
    sf = loaded.session_factory
    services.submit(sf, actor=HRSS, ref="hrss-1", now=DAY, note="已办结")
    services.return_for_rework(sf, actor=OFFICE, ref="hrss-1", reason="缺少材料", now=DAY)  # returned, still late
    for today in (date(2019, 11, 4), date(2020, 6, 15)):
        red = sorted((r.due, r.unit, r.id) for r in queries.status(sf, today=today, viewer=OFFICE) if r.light == "red")
        for kept in (False, True):  # counted on the index, then from the kept lights
            if kept:
                lights.keep_up(sf, today)
            pages = [board.overdue(sf, today=today, viewer=OFFICE, page=n, size=4) for n in range(1, 40)]
            assert {p.total for p in pages} == {len(red)} and len(red) > 8
            assert [(r.due, r.unit, r.ref) for p in pages for r in p.items] == red, (today, kept)
        returned = next(r for p in pages for r in p.items if r.ref == "hrss-1")
        assert returned.state == "returned" and returned.returned_reason == "缺少材料"
    hrss = board.overdue(sf, today=date(2020, 6, 15), viewer=OFFICE, filters=board.Filters(unit="hrss"), size=200)
    assert hrss.total == len(hrss.items) == sum(1 for _, unit, _ in red if unit == "hrss")


def test_the_kind_and_due_within_filters_count_what_the_rules_say(loaded) -> None:
    sf = loaded.session_factory
    services.submit(sf, actor=HRSS, ref="hrss-4", now=DAY, note="已办结")  # submitted: not "due within"
    for today in (date(2019, 10, 28), date(2019, 12, 30)):  # the December monthly reports are due on 5 January
        status = queries.status(sf, today=today, viewer=OFFICE)
        soon = [r for r in status if r.state in ("open", "returned") and r.due
                and today <= r.due <= today + timedelta(days=10)]
        within = board.board(sf, today=today, viewer=OFFICE, filters=board.Filters(due_within_days=10), size=200)
        assert _matrix(within) == _counted(soon) and soon, today
        for kind in ("fixed", "periodic", "after_event", "staged"):
            of_kind = board.board(sf, today=today, viewer=OFFICE, filters=board.Filters(kind=kind), size=200)
            assert _matrix(of_kind) == _counted(r for r in status if r.kind == kind), (today, kind)
        late_soon = board.overdue(sf, today=today, viewer=OFFICE, filters=board.Filters(due_within_days=10))
        assert late_soon.total == 0 and late_soon.items == []  # overdue and "due from today on" exclude each other
        hrss_fixed = board.overdue(sf, today=today, viewer=OFFICE, filters=board.Filters(unit="hrss", kind="fixed"),
                                   size=200)
        assert sorted(r.ref for r in hrss_fixed.items) == sorted(
            r.id for r in status if r.unit == "hrss" and r.kind == "fixed" and r.light == "red")


def test_a_unit_with_only_an_obligation_waiting_for_a_date_is_in_the_matrix_with_one_grey(loaded) -> None:
    # finance's deliverables leave the plan and the outside date hrss-9 waits for becomes finance's to await:
    # no kept lights for finance, one waiting obligation; it sorts with the units that have no red or yellow.
    with loaded.raw() as con:
        con.execute(text("UPDATE deliverables SET retired = TRUE WHERE unit_id = 'finance'"))
        con.execute(text("UPDATE obligations SET lead_unit_id = 'finance' WHERE ref = 'hrss-9'"))
        con.commit()
    sf = loaded.session_factory
    today = date(2019, 11, 4)
    whole = board.board(sf, today=today, viewer=OFFICE, size=200)
    assert {r.unit: r.counts for r in whole.matrix.items}["finance"] == {"red": 0, "yellow": 0, "green": 0, "grey": 1}
    for page in range(1, 9):
        assert board.board(sf, today=today, viewer=OFFICE, page=page, size=4) == board.board_by_aggregate(
            sf, today=today, viewer=OFFICE, page=page, size=4), page
    only = board.board(sf, today=today, viewer=OFFICE, filters=board.Filters(unit="finance"))
    assert [(r.unit, r.unit_name, r.total) for r in only.matrix.items] == [("finance", "市财政局", 1)]


def test_the_migration_backfills_the_counts_of_an_existing_database(loaded) -> None:
    # Down to 0005 (no counts), change the deliverables, then up again: the backfill counts them afresh.
    from alembic import command

    with loaded.engine.begin() as connection:
        command.downgrade(migrate._config(connection), "0005")
    assert migrate.current_revision(loaded.engine) == "0005"
    with loaded.raw() as con:
        con.execute(text("UPDATE deliverables SET state = 'accepted' "
                         "WHERE id IN (SELECT id FROM deliverables LIMIT 7)"))
        con.commit()
    migrate.upgrade(loaded.engine)
    _kept_equals_a_fresh_count(loaded)
    _check_every_way(loaded, days=[date(2019, 10, 28)])
