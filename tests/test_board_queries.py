"""The dashboard's and the workspace's SQL, on the points its speed rests on (benchmarks/web_benchmark.py)."""

from __future__ import annotations

from dataclasses import replace

from conftest import FINANCE, HRSS, OFFICE, at
from responsibilities import board, plan_sync, services

DAY = at(2019, 10, 28)


def test_an_obligation_that_left_the_plan_leaves_the_dashboard_and_the_workspace_with_its_deliverables(
        loaded, plan) -> None:
    # board reads only the deliverable's own retired flag: retiring an obligation must retire its deliverables.
    before = board.board(loaded.session_factory, today=DAY.date(), viewer=OFFICE)
    smaller = replace(plan, obligations=tuple(o for o in plan.obligations if o.id != "hrss-4"))
    plan_sync.sync_plan(loaded.session_factory, smaller, now=DAY)
    after = board.board(loaded.session_factory, today=DAY.date(), viewer=OFFICE)
    assert sum(after.totals.values()) == sum(before.totals.values()) - 1
    refs = {r.ref for r in board.workspace(loaded.session_factory, today=DAY.date(), viewer=HRSS, unit="hrss",
                                           size=200).items}
    assert "hrss-4" not in refs and "hrss-1" in refs


def test_the_workspace_filtered_by_state_keeps_to_the_units_own_and_cooperating_rows(loaded) -> None:
    for actor, ref in ((HRSS, "hrss-4"), (FINANCE, "finance-1")):
        services.submit(loaded.session_factory, actor=actor, ref=ref, now=DAY, note="已办结")
        services.return_for_rework(loaded.session_factory, actor=OFFICE, ref=ref, reason="缺少材料", now=DAY)
    returned = board.workspace(loaded.session_factory, today=DAY.date(), viewer=HRSS, unit="hrss", state="returned")
    assert [(r.ref, r.returned_reason) for r in returned.items] == [("hrss-4", "缺少材料")] and returned.total == 1


def test_extension_requests_and_the_kind_filter_find_their_rows_without_a_join(loaded) -> None:
    services.request_extension(loaded.session_factory, actor=HRSS, ref="hrss-4", new_due=DAY.date().replace(month=11, day=15),
                               reason="会议改期", now=DAY)
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
