"""Hostile input where people type text, door by door (the service, the page's forms, the JSON API, the command line):
one request must not take the office down. The rules are checked once, in the services, and hold at every door:

- a 办结 needs a note or evidence;
- every free text has a bound (responsibilities/limits.py) and holds no NUL, control character or lone surrogate
  (line breaks and tabs where several lines are natural); a user's name is one bounded line;
- for a unit's user, another unit's deliverable is answered exactly as one that does not exist;
- the command line answers a bad argument with a message and a non-zero exit, never a traceback.

Each case is refused with a 4xx or a message, writes nothing, and never answers 500 or prints a traceback.
The clock is 25 October 2019 (2020-04-03 for the monthly figures).
"""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from fastapi.testclient import TestClient

from responsibilities.errors import DomainError, InvalidInput, NotFound
from responsibilities.figures.service import FiguresInvalid, submit_figures
from responsibilities.limits import MAX_TEXT, MAX_USER_NAME, SUBMIT_NEEDS_NOTE_OR_EVIDENCE
from responsibilities.reading import board, queries
from responsibilities.storage.model import User
from responsibilities.tracking import services
from responsibilities.tracking.accounts import SignInFailed
from responsibilities.tracking.accounts import sign_in as sign_in_service

from conftest import FINANCE, GUIPING, HRSS, LEADER, OFFICE, UNION, at, database_unchanged, monthly_report, run_duban
from web_support import api_csrf, make_app, page_csrf, sign_in

pytestmark = pytest.mark.both_databases

NOW = at(2019, 10, 25)
OWN = "hrss-4"  # hrss leads it, due 2019-10-31, open
SHARED = "work-1.guiping@2019-Q4"  # guiping leads it, union cooperates
MISSING = "nope-4"

# What a hostile or careless person types where a note or a reason goes, and what the refusal says.
HOSTILE_TEXTS = [
    pytest.param("进展\x00顺利", "空字符", id="a NUL"),
    pytest.param("进展\x1b[2J顺利", "控制字符", id="an escape sequence"),
    pytest.param("进展\x08\x08\x08顺利", "控制字符", id="backspaces"),
    pytest.param("进展\ud800顺利", "无法识别", id="a lone surrogate"),
    pytest.param("进展\u2028顺利", "换行", id="a Unicode line separator"),
    pytest.param("字" * (MAX_TEXT + 1), f"不能超过 {MAX_TEXT} 个字符", id="one character too many"),
    pytest.param("长" * 120_000, f"不能超过 {MAX_TEXT} 个字符", id="what the command line used to take"),
]
HOSTILE_NAMES = [
    pytest.param("evil\nhrss-clerk\tunit:hrss", "换行", id="a line break forging a line of the list"),
    pytest.param("evil\tname", "控制字符", id="a tab"),
    pytest.param("evil\x00", "空字符", id="a NUL"),
    pytest.param("evil\u202e", "控制字符", id="a right-to-left override"),
    pytest.param("evil\udcff", "无法识别", id="a lone surrogate"),
    pytest.param(" \u3000 ", "请填写用户名", id="only spaces"),
    pytest.param("名" * (MAX_USER_NAME + 1), f"不能超过 {MAX_USER_NAME} 个字符", id="one character too many"),
]


def _submitted(sf) -> None:
    services.submit(sf, actor=HRSS, ref=OWN, now=NOW, note="已印发")


def _extension_asked(sf) -> None:
    services.request_extension(sf, actor=HRSS, ref=OWN, new_due=date(2019, 11, 8), reason="等待会签", now=NOW)


# Every service that takes a free text: what is set up first, and the call with the text.
TEXT_TAKERS = [
    pytest.param(None, lambda sf, t: services.submit(sf, actor=HRSS, ref=OWN, now=NOW, note=t), id="submit note"),
    pytest.param(None, lambda sf, t: services.add_note(sf, actor=HRSS, ref=OWN, note=t, now=NOW), id="progress note"),
    pytest.param(_submitted, lambda sf, t: services.accept(sf, actor=OFFICE, ref=OWN, now=NOW, note=t),
                 id="acceptance note"),
    pytest.param(_submitted, lambda sf, t: services.return_for_rework(sf, actor=OFFICE, ref=OWN, reason=t, now=NOW),
                 id="return reason"),
    pytest.param(None, lambda sf, t: services.waive(sf, actor=OFFICE, ref=OWN, reason=t, now=NOW), id="waive reason"),
    pytest.param(None, lambda sf, t: services.request_extension(sf, actor=HRSS, ref=OWN, new_due=date(2019, 11, 8),
                                                                reason=t, now=NOW), id="extension reason"),
    pytest.param(_extension_asked, lambda sf, t: services.decide_extension(sf, actor=OFFICE, ref=OWN, grant=False,
                                                                           reason=t, now=NOW), id="refusal reason"),
    pytest.param(_extension_asked, lambda sf, t: services.decide_extension(sf, actor=OFFICE, ref=OWN, grant=True,
                                                                           reason=t, now=NOW), id="grant opinion"),
    pytest.param(None, lambda sf, t: services.set_external_date(sf, actor=OFFICE, obligation_id="hrss-9",
                                                                due=date(2019, 11, 10), now=NOW, note=t),
                 id="external date note"),
    pytest.param(None, lambda sf, t: submit_figures(sf, actor=GUIPING, region="guiping", month=date(2020, 3, 1),
                                                    values=monthly_report(), now=at(2020, 4, 3), note=t),
                 id="monthly figures note"),
]


@pytest.fixture
def app(web_db, tmp_path):
    return make_app(web_db.url, tmp_path / "evidence", NOW)


def _same_answer(first: str, first_ref: str, second: str, second_ref: str) -> bool:
    return first.replace(first_ref, "REF") == second.replace(second_ref, "REF")


# ── the service: every door ends here ────────────────────────────────────────────────────────────


def test_a_submit_with_neither_note_nor_evidence_is_refused_by_the_service(loaded, session_factory):
    for note in (None, "", "  \n\t "):
        with pytest.raises(InvalidInput, match=f"^{SUBMIT_NEEDS_NOTE_OR_EVIDENCE}$"), database_unchanged(loaded):
            services.submit(session_factory, actor=HRSS, ref=OWN, now=NOW, note=note, links=["", " "])


def test_a_submit_with_only_a_link_or_only_a_note_is_enough(loaded, session_factory):
    assert services.submit(session_factory, actor=HRSS, ref=OWN, now=NOW,
                           links=["https://example.gov.cn/notice/1"]).state == "submitted"
    assert services.submit(session_factory, actor=FINANCE, ref="finance-2@2019-Q4", now=NOW,
                           note="已拨付").state == "submitted"


@pytest.mark.parametrize("setup, call", TEXT_TAKERS)
@pytest.mark.parametrize("text, says", HOSTILE_TEXTS)
def test_every_free_text_a_service_takes_refuses_control_characters_and_lengths_past_the_bound(
        loaded, session_factory, setup, call, text, says):
    if setup is not None:
        setup(session_factory)
    with pytest.raises((InvalidInput, FiguresInvalid), match=says), database_unchanged(loaded):
        call(session_factory, text)


@pytest.mark.parametrize("setup, call", TEXT_TAKERS)
def test_line_breaks_and_tabs_are_kept_in_a_text_of_several_lines_and_the_bound_itself_is_allowed(
        loaded, session_factory, setup, call):
    if setup is not None:
        setup(session_factory)
    call(session_factory, "第一行\r\n\t第二行" + "字" * (MAX_TEXT - 8))
    note = queries.audit_trail(session_factory, limit=1)[0].note
    assert note is None or note.endswith("第一行\n\t第二行" + "字" * (MAX_TEXT - 8))


@pytest.mark.parametrize("name, says", HOSTILE_NAMES)
def test_a_user_name_is_one_bounded_line_without_control_characters(loaded, session_factory, name, says):
    with pytest.raises(InvalidInput, match=says), database_unchanged(loaded):
        services.add_user(session_factory, name=name, role="office", now=NOW)


def test_the_bound_of_a_user_name_is_the_column_that_keeps_it():
    assert User.__table__.c.name.type.length == MAX_USER_NAME


@pytest.mark.parametrize("name, password", [
    pytest.param("office\x00", "whatever-password", id="a NUL in the name"),
    pytest.param("office\udcff", "whatever-password", id="a lone surrogate in the name"),
    pytest.param(OFFICE, "pass\ud800word-long", id="a lone surrogate in the password"),
])
def test_a_sign_in_with_a_name_or_password_no_account_can_have_fails_like_a_wrong_password(
        loaded, session_factory, name, password):
    with pytest.raises(SignInFailed), database_unchanged(loaded):
        sign_in_service(session_factory, name=name, password=password, address="198.51.100.7", now=NOW)


@pytest.mark.parametrize("ref", ["hrss-4\x00", "hrss-4\udcff", "x" * 10_000])
def test_a_ref_no_database_can_hold_is_simply_not_there(loaded, session_factory, ref):
    with pytest.raises(NotFound), database_unchanged(loaded):
        queries.show(session_factory, ref=ref, viewer=OFFICE)
    with pytest.raises(NotFound), database_unchanged(loaded):
        services.add_note(session_factory, actor=HRSS, ref=ref, note="进展", now=NOW)
    with pytest.raises(NotFound), database_unchanged(loaded):
        services.add_note(session_factory, actor=ref, ref=OWN, note="进展", now=NOW)


# Another unit's deliverable, for a unit's user: the same answer as one that does not exist.
ASKS = [
    pytest.param(lambda sf, ref: queries.show(sf, ref=ref, viewer=FINANCE), id="show"),
    pytest.param(lambda sf, ref: services.add_note(sf, actor=FINANCE, ref=ref, note="进展", now=NOW), id="note"),
    pytest.param(lambda sf, ref: services.submit(sf, actor=FINANCE, ref=ref, now=NOW, note="已办结"), id="submit"),
    pytest.param(lambda sf, ref: services.request_extension(sf, actor=FINANCE, ref=ref, new_due=date(2019, 11, 8),
                                                            reason="等待", now=NOW), id="extension"),
]


def _refusal(call) -> DomainError:
    with pytest.raises(DomainError) as refused:
        call()
    return refused.value


@pytest.mark.parametrize("ask", ASKS)
def test_a_unit_asking_for_another_units_deliverable_gets_the_answer_for_one_that_does_not_exist(
        loaded, session_factory, ask):
    with database_unchanged(loaded):
        other = _refusal(lambda: ask(session_factory, OWN))
        missing = _refusal(lambda: ask(session_factory, MISSING))
    assert type(other) is type(missing) is NotFound
    assert _same_answer(str(other), OWN, str(missing), MISSING), (str(other), str(missing))


def test_the_hint_for_a_task_due_by_periods_names_only_the_askers_own_work(loaded, session_factory):
    hrss = _refusal(lambda: queries.show(session_factory, ref="hrss-5", viewer=HRSS))
    finance = _refusal(lambda: queries.show(session_factory, ref="hrss-5", viewer=FINANCE))
    assert "hrss-5@2019-Q4" in str(hrss)
    assert _same_answer(str(finance), "hrss-5", str(_refusal(
        lambda: queries.show(session_factory, ref=MISSING, viewer=FINANCE))), MISSING)


def test_a_co_unit_and_a_leader_still_get_the_precise_answer(loaded, session_factory):
    assert queries.show(session_factory, ref=SHARED, viewer=UNION).deliverable.ref == SHARED
    co_unit = _refusal(lambda: services.submit(session_factory, actor=UNION, ref=SHARED, now=NOW, note="x"))
    leader = _refusal(lambda: services.add_note(session_factory, actor=LEADER, ref=OWN, note="x", now=NOW))
    assert "牵头单位是 guiping" in str(co_unit) and "领导只能查看" in str(leader)


def test_another_units_task_is_answered_as_a_task_that_does_not_exist(loaded, session_factory):
    def ask(obligation_id: str) -> str:
        return str(_refusal(lambda: board.obligation(session_factory, obligation_id=obligation_id, viewer=FINANCE,
                                                     today=NOW.date())))

    assert _same_answer(ask("hrss-9"), "hrss-9", ask("nope-9"), "nope-9")
    assert board.obligation(session_factory, obligation_id="hrss-9", viewer=LEADER, today=NOW.date())


# ── the page's forms ─────────────────────────────────────────────────────────────────────────────


def _post(client, path: str, **data):
    return client.post(path, data={**data, "csrf_token": page_csrf(client, "/api/docs")}, follow_redirects=False)


def test_the_submit_form_with_neither_note_nor_evidence_says_so_next_to_the_note(app, web_db):
    unit = sign_in(app, HRSS)
    with database_unchanged(web_db):
        response = _post(unit, f"/deliverables/{OWN}/submit", note="  ", links="")
    assert response.status_code == 422
    assert re.search(rf'id="submit-note-error"[^>]*>{SUBMIT_NEEDS_NOTE_OR_EVIDENCE}<', response.text)


@pytest.mark.parametrize("path, field", [
    (f"/deliverables/{OWN}/submit", "note"), (f"/deliverables/{OWN}/notes", "note"),
    (f"/deliverables/{OWN}/extension", "reason"), (f"/deliverables/{OWN}/waive", "reason"),
    ("/obligations/hrss-9/dates", "note"),
])
# A form's field holds at most 64 KB (read_form): 120,000 characters are a 400 before any field is read.
@pytest.mark.parametrize("text, says", [p for p in HOSTILE_TEXTS if "\ud800" not in p.values[0]
                                        and len(p.values[0]) < 10_000])
def test_a_form_refuses_a_hostile_text_next_to_its_field_and_writes_nothing(app, web_db, path, field, text, says):
    client = sign_in(app, OFFICE)
    values = {"new_due": "2019-11-08", "due": "2019-11-10", field: text}
    with database_unchanged(web_db):
        response = _post(client, path, **values)
    assert response.status_code == 422
    assert says in response.text


def test_a_units_user_opening_another_units_deliverable_page_sees_the_page_for_one_that_does_not_exist(app):
    finance = sign_in(app, FINANCE)
    other, missing = finance.get(f"/deliverables/{OWN}"), finance.get(f"/deliverables/{MISSING}")
    assert other.status_code == missing.status_code == 404
    assert _same_answer(other.text, OWN, missing.text, MISSING)
    acted, acted_missing = (_post(finance, f"/deliverables/{ref}/notes", note="进展") for ref in (OWN, MISSING))
    assert acted.status_code == acted_missing.status_code == 404
    assert _same_answer(acted.text, OWN, acted_missing.text, MISSING)


def test_the_sign_in_page_refuses_a_name_with_a_nul_as_a_wrong_password(app, web_db):
    client = TestClient(app, base_url="http://testserver")
    token = page_csrf(client, "/signin")
    with database_unchanged(web_db):
        response = client.post("/signin", data={"name": "office\x00", "password": "whatever-password",
                                                "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 401


# ── the JSON API ─────────────────────────────────────────────────────────────────────────────────


def _api(client, method: str, path: str, body: str | None = None, **kwargs):
    headers = {"x-csrf-token": api_csrf(client)}
    if body is not None:
        headers["content-type"] = "application/json"
    return client.request(method, path, content=body, headers=headers, **kwargs)


def test_an_api_submit_with_an_empty_body_is_refused(app, web_db):
    unit = sign_in(app, HRSS)
    with database_unchanged(web_db):
        response = unit.post(f"/api/deliverables/{OWN}/submit", headers={"x-csrf-token": api_csrf(unit)})
    assert response.status_code == 422
    assert response.json()["error"]["detail"] == SUBMIT_NEEDS_NOTE_OR_EVIDENCE


@pytest.mark.parametrize("path, key", [
    (f"/api/deliverables/{OWN}/notes", "note"), (f"/api/deliverables/{OWN}/waive", "reason"),
    (f"/api/deliverables/{OWN}/extension", "reason"), ("/api/obligations/hrss-9/dates", "note"),
])
@pytest.mark.parametrize("escaped, says", [
    pytest.param("进展\\u0000顺利", "空字符", id="a NUL"),
    pytest.param("进展\\u001b[31m顺利", "控制字符", id="an escape sequence"),
    pytest.param("进展\\ud800顺利", "unicode", id="a lone surrogate"),  # refused by the API's model, by field
])
def test_the_api_refuses_a_json_text_with_a_nul_a_surrogate_or_an_escape_with_422(app, web_db, path, key, escaped,
                                                                                   says):
    office = sign_in(app, OFFICE)
    body = '{"new_due": "2019-11-08", "due": "2019-11-10", "%s": "%s"}' % (key, escaped)
    with database_unchanged(web_db):
        response = _api(office, "POST", path, body)
    assert response.status_code == 422, response.text
    assert says in response.json()["error"]["detail"] + json.dumps(response.json()["error"].get("fields"))


def test_the_api_refuses_a_text_past_the_bound(app, web_db):
    office = sign_in(app, OFFICE)
    with database_unchanged(web_db):
        response = _api(office, "POST", f"/api/deliverables/{OWN}/notes", json.dumps({"note": "字" * (MAX_TEXT + 1)}))
    assert response.status_code == 422


@pytest.mark.parametrize("body", [
    pytest.param('{"name": "office\\u0000", "password": "whatever-password"}', id="a NUL in the name"),
    pytest.param('{"name": "office", "password": "pass\\ud800word-long"}', id="a lone surrogate in the password"),
])
def test_an_api_sign_in_with_a_nul_or_a_surrogate_is_a_401_or_422_not_a_500(app, web_db, body):
    client = TestClient(app, base_url="http://testserver")
    with database_unchanged(web_db):
        response = client.post("/api/session", content=body, headers={"content-type": "application/json"})
    assert response.status_code in (401, 422)  # the model refuses a surrogate (422); a NUL is a wrong name


@pytest.mark.parametrize("method, suffix, body", [
    ("GET", "", None), ("POST", "/notes", '{"note": "进展"}'), ("POST", "/submit", None),
    ("POST", "/extension", '{"new_due": "2019-11-08", "reason": "等待"}'),
])
def test_an_api_request_for_another_units_deliverable_is_answered_as_for_one_that_does_not_exist(
        app, web_db, method, suffix, body):
    finance = sign_in(app, FINANCE)
    with database_unchanged(web_db):
        other = _api(finance, method, f"/api/deliverables/{OWN}{suffix}", body)
        missing = _api(finance, method, f"/api/deliverables/{MISSING}{suffix}", body)
    assert other.status_code == missing.status_code == 404
    assert _same_answer(other.text, OWN, missing.text, MISSING)


def test_an_api_request_for_another_units_task_is_answered_as_for_one_that_does_not_exist(app):
    finance = sign_in(app, FINANCE)
    other, missing = finance.get("/api/obligations/hrss-9"), finance.get("/api/obligations/nope-9")
    assert other.status_code == missing.status_code == 404
    assert _same_answer(other.text, "hrss-9", missing.text, "nope-9")


@pytest.mark.parametrize("path", ["/api/deliverables/hrss-4%00", "/api/obligations/hrss-9%00",
                                  "/deliverables/hrss-4%00", "/api/units/hrss%00/deliverables",
                                  "/api/units/guiping%00/progress", "/obligations/hrss-9%00"])
def test_a_nul_in_a_path_is_a_404_not_a_500(app, path):
    office = sign_in(app, OFFICE)
    assert office.get(path).status_code == 404


@pytest.mark.parametrize("path, body", [
    ("/api/events/region-supporting-documents%00", '{"occurred_on": "2019-10-24"}'),
    ("/api/obligations/hrss-9%00/dates", '{"due": "2019-11-10"}'),
])
def test_a_nul_in_the_id_of_an_event_or_a_task_is_a_404_and_writes_nothing(app, web_db, path, body):
    office = sign_in(app, OFFICE)
    with database_unchanged(web_db):
        assert _api(office, "POST", path, body).status_code == 404


def test_a_nul_in_a_figures_region_is_refused_by_the_service(loaded, session_factory):
    with pytest.raises(FiguresInvalid, match="不是任何单位"), database_unchanged(loaded):
        submit_figures(session_factory, actor=OFFICE, region="guiping\x00", month=date(2020, 3, 1),
                       values=monthly_report(), now=at(2020, 4, 3))


# ── the command line ─────────────────────────────────────────────────────────────────────────────


def _refused(result, says: str, status: int | None = None) -> None:
    """Refused with a non-zero exit and a one-line message at the end of stderr (after argparse's usage lines)."""
    assert result.returncode != 0 if status is None else result.returncode == status, result
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("duban") and says in last, result.stderr


@pytest.mark.slow
def test_duban_submit_with_neither_note_nor_evidence_is_refused(loaded, tmp_path):
    with database_unchanged(loaded):
        result = run_duban(tmp_path, "submit", OWN, "--as", HRSS, "--as-of", "2019-10-25", database=loaded)
    _refused(result, SUBMIT_NEEDS_NOTE_OR_EVIDENCE, 1)


@pytest.mark.slow
@pytest.mark.parametrize("args, says", [
    pytest.param(["note", OWN, "\udcff\udcfe", "--as", HRSS], r"第 3 个参数“\xff\xfe”不是有效的 UTF-8 文字",
                 id="a note that is not UTF-8"),
    pytest.param(["submit", OWN, "--note", "已办结\udcff", "--as", HRSS], "不是有效的 UTF-8", id="a submit note"),
    pytest.param(["show", "hrss-4\udcff", "--as", OFFICE], "不是有效的 UTF-8", id="a ref"),
    pytest.param(["status", "--as", "office\udcff"], "不是有效的 UTF-8", id="a user to act as"),
    pytest.param(["note", OWN, "进展\x1b[2J", "--as", HRSS], "控制字符", id="an escape sequence in a note"),
    pytest.param(["note", OWN, "a" * 120_000, "--as", HRSS], f"不能超过 {MAX_TEXT} 个字符", id="120,000 characters"),
    pytest.param(["waive", OWN, "--reason", "理由\u2028伪造", "--as", OFFICE], "换行", id="a Unicode line break"),
    pytest.param(["users", "add", "evil\nhrss-clerk\tunit:hrss", "--role", "office"], "换行",
                 id="a user name with a line break"),
    pytest.param(["users", "add", "   ", "--role", "office"], "请填写用户名", id="a blank user name"),
    pytest.param(["show", OWN, "--as", FINANCE], f"没有编号为“{OWN}”的应交事项:`duban status` 可列出全部事项",
                 id="another unit's deliverable"),
    pytest.param(["note", OWN, "进展", "--as", FINANCE], f"没有编号为“{OWN}”的应交事项", id="acting on another unit's"),
])
def test_duban_refuses_hostile_text_with_one_line_and_changes_nothing(loaded, tmp_path, args, says):
    with database_unchanged(loaded):
        result = run_duban(tmp_path, *args, "--as-of", "2019-10-25", database=loaded)
    _refused(result, says)


@pytest.mark.slow
def test_users_list_prints_one_line_per_user_after_a_forged_name_was_refused(loaded, tmp_path):
    run_duban(tmp_path, "users", "add", "evil\nforged\toffice\t可登录网页", "--role", "office", database=loaded)
    listing = run_duban(tmp_path, "users", "list", database=loaded)
    assert "forged" not in listing.stdout
    assert len(listing.stdout.strip().splitlines()) == 6


@pytest.mark.slow
@pytest.mark.parametrize("args, says", [
    pytest.param(["serve", "--port", "-1"], "-1 超出范围;端口号应为 0 至 65535", id="serve on port -1"),
    pytest.param(["serve", "--port", "70000"], "70000 超出范围", id="serve on port 70000"),
    pytest.param(["serve", "--port", "http"], "“http”不是整数", id="serve on port http"),
    pytest.param(["serve", "--lease-seconds", "-5"], "租约秒数应为 1 至 86400", id="a negative lease"),
    pytest.param(["serve", "--lease-seconds", "1" * 30], "超出范围", id="a lease past any clock"),
    pytest.param(["mail-sink", "--port", "99999"], "端口号", id="the mail sink on port 99999"),
    pytest.param(["deadline", "parse", "次月5日前", "--year", "-5"], "年份应为 1900 至 2100", id="the year -5"),
    pytest.param(["deadline", "parse", "次月5日前", "--year", "99999"], "年份应为", id="the year 99999"),
    pytest.param(["figures", "progress", "--year", "1" * 25], "年份应为", id="a figures year of 25 digits"),
    pytest.param(["audit", "--limit", "-5"], "条数应为 1 至", id="a negative audit limit"),
    pytest.param(["audit", "--limit", "99999999999999999999"], "超出范围", id="an audit limit past SQLite's integers"),
    pytest.param(["accept", OWN, "--expect-version", "99999999999999999999999", "--as", OFFICE], "版本号",
                 id="a version past any integer column"),
])
def test_every_integer_option_out_of_range_is_one_line_and_exit_2(tmp_path, args, says):
    _refused(run_duban(tmp_path, *args), says, 2)


@pytest.mark.slow
def test_a_database_url_of_an_unknown_kind_is_one_line(tmp_path):
    import subprocess
    import sys

    from conftest import ROOT

    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DUBAN_DATABASE_URL": "notaurl://x"}
    result = subprocess.run([sys.executable, "-m", "workflows.cli", "status"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr
    _refused(result, "DUBAN_DATABASE_URL", 1)


@pytest.mark.slow
@pytest.mark.parametrize("args, says", [
    pytest.param(["mail-sink", "--port", "0", "--folder", "{file}"], "已存在,且不是所需的文件夹",
                 id="a mail folder that is a file"),
    pytest.param(["report", "year", "2019", "--out", "{file}/x"], "路径中有一段不是文件夹", id="a report under a file"),
    pytest.param(["submit", "hrss-1", "--evidence", "{folder}", "--as", HRSS], "是文件夹", id="a folder as evidence"),
    pytest.param(["submit", "hrss-1", "--evidence", "{folder}/missing.pdf", "--as", HRSS], "文件不存在",
                 id="missing evidence"),
    pytest.param(["figures", "import", "{folder}", "--as", OFFICE], "无法读取", id="a folder as a workbook"),
    pytest.param(["backup", "{folder}"], "已存在", id="a backup onto a folder"),
    pytest.param(["load", "{folder}"], "is a directory", id="a folder as the plan"),
])
def test_a_path_option_pointing_at_a_folder_a_file_or_nothing_is_one_line(loaded, tmp_path, args, says):
    folder = tmp_path / "folder"
    folder.mkdir()
    (tmp_path / "a-file").write_text("x")
    args = [a.format(file=tmp_path / "a-file", folder=folder) for a in args]
    with database_unchanged(loaded):
        result = run_duban(tmp_path, *args, "--as-of", "2019-10-25", database=loaded)
    assert result.returncode == 1, result
    assert says in result.stderr, result.stderr
