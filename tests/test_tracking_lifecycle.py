"""The supervision cycle end to end at the service level: hand in, review, waive, notes, extensions, events, dates.

Every `now` is an aware Guigang time; the status is always asked for a given day.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from responsibilities.errors import IllegalTransition, InvalidInput
from responsibilities.reading import queries
from responsibilities.tracking import services

from conftest import FINANCE, GUIPING, HRSS, OFFICE, UNION, at, database_unchanged

pytestmark = pytest.mark.both_databases

DUE_OCT_31 = "hrss-4"  # the policy training course, due 2019-10-31, led by hrss alone
NOV_1 = date(2019, 11, 1)
QUARTERLY = "work-1.guiping@2019-Q4"  # guiping leads; union (among others) cooperates
PDF = b"%PDF-1.4\n% 2019\xe5\xb9\xb4\xe6\x94\xbf\xe7\xad\x96\xe5\x9f\xb9\xe8\xae\xad\xe7\x8f\xad\n%%EOF\n"


def row(session_factory, ref: str, today: date, viewer: str = OFFICE) -> queries.StatusRow:
    return next(r for r in queries.status(session_factory, today=today, viewer=viewer) if r.id == ref)


def light(session_factory, ref: str, today: date = NOV_1) -> str:
    return row(session_factory, ref, today).light


def history(session_factory, ref: str) -> list[tuple]:
    """(actor, action, state before, state after) of each audit record, oldest first."""
    return [(a.actor, a.action, (a.before or {}).get("state"), (a.after or {}).get("state"))
            for a in queries.show(session_factory, ref=ref).history]


def pdf_file(tmp_path: Path) -> Path:
    path = tmp_path / "政策培训班通知.pdf"
    path.write_bytes(PDF)
    return path


# ── hand in, return, hand in again, accept ───────────────────────────────────────────────────────


def test_overdue_deliverable_turns_yellow_when_submitted_and_green_once_the_office_accepts_it(
        loaded, session_factory, tmp_path, evidence_store):
    assert light(session_factory, DUE_OCT_31) == "red"
    assert row(session_factory, DUE_OCT_31, NOV_1).days_overdue == 1

    services.submit(session_factory, actor=HRSS, ref=DUE_OCT_31, now=at(2019, 11, 1, 10), note="培训班已于10月30日举办",
                    files=[pdf_file(tmp_path)], links=["https://hrss.guigang.example/notice/2019-88"],
                    evidence_store=evidence_store)
    assert light(session_factory, DUE_OCT_31) == "yellow"

    services.return_for_rework(session_factory, actor=OFFICE, ref=DUE_OCT_31, reason="缺少签到表",
                               now=at(2019, 11, 1, 11))
    assert light(session_factory, DUE_OCT_31) == "red"

    services.submit(session_factory, actor=HRSS, ref=DUE_OCT_31, now=at(2019, 11, 1, 14), note="补充签到表")
    assert light(session_factory, DUE_OCT_31) == "yellow"

    change = services.accept(session_factory, actor=OFFICE, ref=DUE_OCT_31, now=at(2019, 11, 1, 16))
    assert (change.state, change.due) == ("accepted", date(2019, 10, 31))
    assert light(session_factory, DUE_OCT_31) == "green"
    assert row(session_factory, DUE_OCT_31, NOV_1).days_overdue == 0


def test_a_submission_keeps_its_note_its_file_in_the_evidence_store_and_its_link(
        loaded, session_factory, tmp_path, evidence_store):
    services.submit(session_factory, actor=HRSS, ref=DUE_OCT_31, now=at(2019, 10, 30), note="  培训班已举办  ",
                    files=[pdf_file(tmp_path)], links=["https://hrss.guigang.example/notice/2019-88"],
                    evidence_store=evidence_store)

    view = queries.show(session_factory, ref=DUE_OCT_31, viewer=HRSS)
    file, link = view.evidence
    assert (file.kind, file.filename, file.content_type, file.size, file.added_by) == (
        "file", "政策培训班通知.pdf", "application/pdf", len(PDF), HRSS)
    with evidence_store.open(file.sha256) as stored:
        assert stored.read() == PDF
    assert (link.kind, link.url, link.added_by) == ("link", "https://hrss.guigang.example/notice/2019-88", HRSS)
    assert view.deliverable.submitted_at == at(2019, 10, 30)
    assert view.history[-1].note == "培训班已举办"


def test_the_office_must_give_a_reason_to_return_a_submission(loaded, session_factory):
    services.submit(session_factory, actor=HRSS, ref=DUE_OCT_31, now=at(2019, 10, 30), note="已办结")
    with database_unchanged(loaded), pytest.raises(InvalidInput, match="请填写退回理由"):
        services.return_for_rework(session_factory, actor=OFFICE, ref=DUE_OCT_31, reason="  ", now=at(2019, 10, 31))


def test_every_change_is_audited_with_actor_action_and_the_state_before_and_after(loaded, session_factory):
    services.submit(session_factory, actor=HRSS, ref=DUE_OCT_31, now=at(2019, 10, 30), note="已办结")
    services.return_for_rework(session_factory, actor=OFFICE, ref=DUE_OCT_31, reason="缺少签到表",
                               now=at(2019, 10, 30, 15))
    services.submit(session_factory, actor=HRSS, ref=DUE_OCT_31, now=at(2019, 10, 31), note="补充签到表")
    services.accept(session_factory, actor=OFFICE, ref=DUE_OCT_31, now=at(2019, 10, 31, 16), note="同意销号")

    assert history(session_factory, DUE_OCT_31) == [
        ("system", "deliverable.dated", None, "open"),
        (HRSS, "submit", "open", "submitted"),
        (OFFICE, "return", "submitted", "returned"),
        (HRSS, "submit", "returned", "submitted"),
        (OFFICE, "accept", "submitted", "accepted"),
    ]
    records = queries.show(session_factory, ref=DUE_OCT_31).history
    assert [r.note for r in records] == [None, "已办结", "缺少签到表", "补充签到表", "同意销号"]
    assert [r.at for r in records] == [at(2019, 10, 23), at(2019, 10, 30), at(2019, 10, 30, 15),
                                       at(2019, 10, 31), at(2019, 10, 31, 16)]
    # Each record's "after" is the next one's "before": the trail has no gaps.
    assert all(earlier.after == later.before for earlier, later in zip(records[1:], records[2:], strict=False))
    assert [r.after["version"] for r in records] == [1, 2, 3, 4, 5]
    assert all(r.deliverable_ref == DUE_OCT_31 and r.unit_id == "hrss" for r in records)


def test_show_returns_the_history_oldest_first_after_out_of_order_clock_times(loaded, session_factory):
    """History is the order things were written in, even when a `now` passed in was earlier."""
    services.add_note(session_factory, actor=HRSS, ref=DUE_OCT_31, note="第一条", now=at(2019, 10, 28))
    services.add_note(session_factory, actor=HRSS, ref=DUE_OCT_31, note="第二条", now=at(2019, 10, 27))
    notes = [r.note for r in queries.show(session_factory, ref=DUE_OCT_31).history if r.action == "note"]
    assert notes == ["第一条", "第二条"]


# ── waiving ──────────────────────────────────────────────────────────────────────────────────────


def test_the_office_waives_a_deliverable_with_a_reason_and_it_counts_as_done(loaded, session_factory):
    assert light(session_factory, "hrss-3@stage-1") == "red"
    change = services.waive(session_factory, actor=OFFICE, ref="hrss-3@stage-1", reason="目录已并入自治区统一发布",
                            now=at(2019, 11, 1))
    assert change.state == "waived"
    assert light(session_factory, "hrss-3@stage-1") == "green"
    last = queries.show(session_factory, ref="hrss-3@stage-1").history[-1]
    assert (last.actor, last.action, last.before["state"], last.after["state"], last.note) == (
        OFFICE, "waive", "open", "waived", "目录已并入自治区统一发布")


def test_waiving_without_a_reason_is_refused(loaded, session_factory):
    with database_unchanged(loaded), pytest.raises(InvalidInput, match="请填写免报理由"):
        services.waive(session_factory, actor=OFFICE, ref=DUE_OCT_31, reason="", now=at(2019, 11, 1))


# ── progress notes ───────────────────────────────────────────────────────────────────────────────


def test_a_co_unit_reports_progress_without_changing_the_state(loaded, session_factory):
    change = services.add_note(session_factory, actor=UNION, ref=QUARTERLY, note="已督促12家企业报送培训计划",
                               now=at(2019, 11, 20))
    assert change.state == "open"
    last = queries.show(session_factory, ref=QUARTERLY, viewer=UNION).history[-1]
    assert (last.actor, last.action, last.before["state"], last.after["state"], last.note) == (
        UNION, "note", "open", "open", "已督促12家企业报送培训计划")
    assert row(session_factory, QUARTERLY, NOV_1, viewer=UNION).cooperating is True


def test_the_lead_unit_reports_progress_too(loaded, session_factory):
    services.add_note(session_factory, actor=GUIPING, ref=QUARTERLY, note="完成培训2100人次", now=at(2019, 11, 20))
    assert queries.show(session_factory, ref=QUARTERLY).history[-1].actor == GUIPING


def test_an_empty_progress_note_is_refused(loaded, session_factory):
    with database_unchanged(loaded), pytest.raises(InvalidInput, match="请填写进展说明"):
        services.add_note(session_factory, actor=UNION, ref=QUARTERLY, note=" \n ", now=at(2019, 11, 20))


# ── extensions ───────────────────────────────────────────────────────────────────────────────────


def test_an_extension_asked_before_the_due_date_and_granted_moves_the_due_date_and_keeps_the_original(
        loaded, session_factory):
    services.request_extension(session_factory, actor=HRSS, ref=DUE_OCT_31, new_due=date(2019, 11, 15),
                               reason="培训场地改期", now=at(2019, 10, 25))
    pending = queries.show(session_factory, ref=DUE_OCT_31).extensions
    assert [(e.status, e.requested_due, e.requested_by) for e in pending] == [("pending", date(2019, 11, 15), HRSS)]
    assert light(session_factory, DUE_OCT_31) == "red"  # asking alone moves nothing

    change = services.decide_extension(session_factory, actor=OFFICE, ref=DUE_OCT_31, grant=True, now=at(2019, 10, 28))

    assert change.due == date(2019, 11, 15)
    view = queries.show(session_factory, ref=DUE_OCT_31)
    assert (view.deliverable.due, view.deliverable.original_due) == (date(2019, 11, 15), date(2019, 10, 31))
    [granted] = view.extensions
    assert (granted.status, granted.decided_by, granted.decided_at) == ("granted", OFFICE, at(2019, 10, 28))
    last = view.history[-1]
    assert (last.action, last.before["due"], last.after["due"], last.after["original_due"]) == (
        "extension.grant", "2019-10-31", "2019-11-15", "2019-10-31")
    status = row(session_factory, DUE_OCT_31, NOV_1)
    assert (status.light, status.days_overdue, status.original_due) == ("green", 0, date(2019, 10, 31))


def test_a_refused_extension_leaves_the_due_date_alone(loaded, session_factory):
    services.request_extension(session_factory, actor=UNION, ref="union-1", new_due=date(2019, 11, 30),
                               reason="企业上报迟缓", now=at(2019, 10, 29))
    services.decide_extension(session_factory, actor=OFFICE, ref="union-1", grant=False, reason="时限由方案确定",
                              now=at(2019, 10, 30))

    view = queries.show(session_factory, ref="union-1")
    assert (view.deliverable.due, view.deliverable.original_due) == (date(2019, 10, 31), date(2019, 10, 31))
    assert [(e.status, e.decision_reason) for e in view.extensions] == [("refused", "时限由方案确定")]
    assert (view.history[-1].action, view.history[-1].before, view.history[-1].after["due"]) == (
        "extension.refuse", view.history[-2].after, "2019-10-31")


def test_refusing_an_extension_needs_a_reason(loaded, session_factory):
    services.request_extension(session_factory, actor=UNION, ref="union-1", new_due=date(2019, 11, 30),
                               reason="企业上报迟缓", now=at(2019, 10, 29))
    with database_unchanged(loaded), pytest.raises(InvalidInput, match="请填写驳回理由"):
        services.decide_extension(session_factory, actor=OFFICE, ref="union-1", grant=False, now=at(2019, 10, 30))


def test_an_extension_asked_after_the_due_date_is_refused(loaded, session_factory):
    # finance-1 was due 2019-09-30, before the plan was even published.
    too_late = "finance-1 的截止日期 2019-09-30 已过:延期须在截止日期前申请"
    with database_unchanged(loaded), pytest.raises(IllegalTransition, match=too_late):
        services.request_extension(session_factory, actor=FINANCE, ref="finance-1", new_due=date(2019, 11, 30),
                                   reason="专账设立手续未完成", now=at(2019, 10, 23, 10))


def test_an_extension_may_still_be_asked_on_the_due_date_itself(loaded, session_factory):
    services.request_extension(session_factory, actor=HRSS, ref=DUE_OCT_31, new_due=date(2019, 11, 8),
                               reason="培训场地改期", now=at(2019, 10, 31, 23, 30))
    assert len(queries.show(session_factory, ref=DUE_OCT_31).extensions) == 1


def test_the_due_date_is_a_guigang_day_whatever_zone_now_is_given_in(loaded, session_factory):
    # 16:30 UTC on 31 October is already 00:30 on 1 November in Guigang: one day too late to ask.
    with database_unchanged(loaded), pytest.raises(IllegalTransition, match=f"{DUE_OCT_31} 的截止日期 2019-10-31 已过"):
        services.request_extension(session_factory, actor=HRSS, ref=DUE_OCT_31, new_due=date(2019, 11, 8),
                                   reason="培训场地改期", now=datetime(2019, 10, 31, 16, 30, tzinfo=timezone.utc))


def test_a_second_extension_request_waits_for_the_office_to_decide_the_first(loaded, session_factory):
    services.request_extension(session_factory, actor=HRSS, ref=DUE_OCT_31, new_due=date(2019, 11, 8),
                               reason="培训场地改期", now=at(2019, 10, 25))
    with database_unchanged(loaded), pytest.raises(IllegalTransition, match="已有一项延期申请在等待领导小组办公室审批"):
        services.request_extension(session_factory, actor=HRSS, ref=DUE_OCT_31, new_due=date(2019, 11, 15),
                                   reason="再延一周", now=at(2019, 10, 26))


# ── outside events and dates set by outside bodies ───────────────────────────────────────────────


def test_recording_the_regional_documents_dates_the_policy_work_one_month_later(loaded, session_factory):
    waiting = row(session_factory, "hrss-2", NOV_1)
    assert (waiting.state, waiting.light, waiting.due) == ("awaiting_event", "grey", None)

    created = services.record_event(session_factory, actor=OFFICE, event_id="region-supporting-documents",
                                    occurred_on=date(2019, 11, 20), now=at(2019, 11, 22))

    assert created == ["hrss-2"]
    view = queries.show(session_factory, ref="hrss-2")
    assert (view.deliverable.due, view.deliverable.original_due, view.deliverable.state) == (
        date(2019, 12, 20), date(2019, 12, 20), "open")
    [dated] = view.history
    assert (dated.actor, dated.action, dated.before, dated.after["state"]) == (
        OFFICE, "deliverable.dated", None, "open")
    status = row(session_factory, "hrss-2", date(2019, 11, 22))
    assert (status.state, status.due, status.light) == ("open", date(2019, 12, 20), "green")
    [event_record] = [a for a in queries.audit_trail(session_factory) if a.action == "event.recorded"]
    assert (event_record.actor, event_record.before, event_record.after) == (
        OFFICE, {"occurred_on": None}, {"event": "region-supporting-documents", "occurred_on": "2019-11-20"})


def test_an_event_cannot_be_recorded_again_with_another_date(loaded, session_factory):
    services.record_event(session_factory, actor=OFFICE, event_id="region-supporting-documents",
                          occurred_on=date(2019, 11, 20), now=at(2019, 11, 22))
    recorded = f"region-supporting-documents 已由 {OFFICE} 记录为 2019-11-20"
    with database_unchanged(loaded), pytest.raises(IllegalTransition, match=recorded):
        services.record_event(session_factory, actor=OFFICE, event_id="region-supporting-documents",
                              occurred_on=date(2019, 11, 21), now=at(2019, 11, 25))


def test_recording_the_same_event_date_again_changes_nothing(loaded, session_factory):
    services.record_event(session_factory, actor=OFFICE, event_id="region-supporting-documents",
                          occurred_on=date(2019, 11, 20), now=at(2019, 11, 22))
    services.add_user(session_factory, name="office-2", role="office", now=at(2019, 11, 23))
    with database_unchanged(loaded):
        created = services.record_event(session_factory, actor="office-2", event_id="region-supporting-documents",
                                        occurred_on=date(2019, 11, 20), now=at(2019, 11, 25))
    assert created == []


def test_the_office_enters_a_date_set_by_the_region_as_a_new_deliverable(loaded, session_factory):
    assert row(session_factory, "hrss-9", NOV_1).state == "awaiting_date"

    ref = services.set_external_date(session_factory, actor=OFFICE, obligation_id="hrss-9", due=date(2019, 11, 10),
                                     now=at(2019, 10, 28), note="桂人社函〔2019〕号")

    assert ref == "hrss-9@2019-11-10"
    view = queries.show(session_factory, ref=ref, viewer=HRSS)
    assert (view.deliverable.due, view.deliverable.state, view.deliverable.set_by_office) == (
        date(2019, 11, 10), "open", True)
    [dated] = view.history
    assert (dated.actor, dated.action, dated.before, dated.after["due"], dated.note) == (
        OFFICE, "deliverable.date_set", None, "2019-11-10", "桂人社函〔2019〕号")
    refs = {r.id for r in queries.status(session_factory, today=NOV_1, viewer=HRSS)}
    assert ref in refs and "hrss-9" not in refs  # no longer listed as waiting for a date


def test_the_same_outside_date_cannot_be_entered_twice(loaded, session_factory):
    services.set_external_date(session_factory, actor=OFFICE, obligation_id="hrss-9", due=date(2019, 11, 10),
                               now=at(2019, 10, 28))
    with database_unchanged(loaded), pytest.raises(IllegalTransition, match="hrss-9 已有截止于 2019-11-10 的应交事项"):
        services.set_external_date(session_factory, actor=OFFICE, obligation_id="hrss-9", due=date(2019, 11, 10),
                                   now=at(2019, 10, 29))


def test_dates_of_plan_dated_obligations_cannot_be_set_by_the_office(loaded, session_factory):
    with database_unchanged(loaded), pytest.raises(IllegalTransition, match="hrss-4 的期限由工作方案规定"):
        services.set_external_date(session_factory, actor=OFFICE, obligation_id="hrss-4", due=date(2019, 11, 10),
                                   now=at(2019, 10, 28))
