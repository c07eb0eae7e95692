"""Rendering notices: recipients, Chinese subjects and bodies (text + HTML), and the email they become.

Every test works on a real database with the seed plan loaded and notices written by the real sweep.
hrss-4 (市人力资源社会保障局, 举办职业技能提升行动政策培训班…) is due 2019-10-31; its ladder: reminders 5, 1 and 0
working days before, a chase from the first working day overdue, escalation levels 1/2/3 after 3/5/10 working days.
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import date
from email.header import decode_header, make_header

import pytest
from jinja2 import UndefinedError
from sqlalchemy import select

from notifications.messages import (
    KINDS,
    TEMPLATES,
    Message,
    NoRecipients,
    environment,
    message_id_for,
    recipients_for,
    render_notice,
)
from responsibilities.notices.sweep import sweep
from responsibilities.storage.model import Deliverable, Notice, ObligationRecord, PersonRecord, UnitRecord

from conftest import at, seed_key

BASE = "https://duban.example/"
SENDER = "贵港市职业技能提升行动领导小组办公室 <duban@guigang.example>"
LINK = f"https://duban.example/deliverables/{seed_key('hrss-4')}"
TASK = "举办职业技能提升行动政策培训班"
SOURCE = "工作分工 · 市人力资源社会保障局 · 第4项"


def sweep_on(session_factory, *days: date) -> None:
    for day in days:
        sweep(session_factory, now=at(day.year, day.month, day.day), today=day)


def deliverable_id(session, ref: str) -> int:
    return session.scalars(select(Deliverable.id).where(Deliverable.ref == ref)).one()


def notice(session, kind: str, ref: str, level: int, unit: str | None = None) -> Notice:
    key = f"{kind}:{deliverable_id(session, ref)}:{level}" + (f":{unit}" if unit else "")
    return session.scalars(select(Notice).where(Notice.dedupe_key == key)).one()


def render(session, row: Notice, today: date) -> Message:
    return render_notice(session, row, base_url=BASE, sender=SENDER, today=today)


def rendered(session_factory, kind: str, ref: str, level: int, today: date, unit: str | None = None) -> Message:
    with session_factory() as session:
        return render(session, notice(session, kind, ref, level, unit), today)


def assert_names_the_facts(message: Message, *, due: str = "2019-10-31") -> None:
    for part in (message.text, message.html):
        for fact in ("市人力资源社会保障局", TASK, SOURCE, "2019年10月31日前", due, LINK):
            assert fact in part, fact
    assert "市人力资源社会保障局" in message.subject and TASK in message.subject


# ── each kind ───────────────────────────────────────────────────────────────────────────────────


def test_a_reminder_names_the_unit_the_task_its_place_in_the_plan_the_due_date_and_the_link(loaded, session_factory):
    sweep_on(session_factory, date(2019, 10, 24))
    message = rendered(session_factory, "reminder", "hrss-4", 5, date(2019, 10, 24))
    assert message.subject == "【提醒】市人力资源社会保障局:举办职业技能提升行动政策培训班… 将于2019-10-31到期"
    assert_names_the_facts(message)
    assert "到期前5个工作日提醒" in message.text and "替代" not in message.text
    assert message.to == ("hrss@guigang.example",)


def test_a_reminder_after_downtime_says_which_earlier_reminder_it_replaces(loaded, session_factory):
    sweep_on(session_factory, date(2019, 10, 30))  # the 5-day reminder (2019-10-24) was never written
    message = rendered(session_factory, "reminder", "hrss-4", 1, date(2019, 10, 30))
    assert "本提醒同时替代未发出的到期前5个工作日提醒" in message.text
    assert "本提醒同时替代未发出的到期前5个工作日提醒" in message.html


def test_a_co_unit_reminder_is_marked_as_cooperation_and_goes_to_the_co_unit(loaded, session_factory):
    sweep_on(session_factory, date(2020, 1, 9))
    message = rendered(session_factory, "reminder", "work-1.guiping@2019-Q4", 1, date(2020, 1, 9), unit="hrss")
    assert message.to == ("hrss@guigang.example",)
    assert message.subject.startswith("【提醒】市人力资源社会保障局(配合):开展企业职工技能提升和转岗转业培训")
    for part in (message.text, message.html):
        assert "贵单位为配合单位" in part and "桂平市人民政府" in part and "2020-01-10" in part
        assert f"https://duban.example/deliverables/{seed_key('work-1.guiping@2019-Q4')}" in part
    lead = rendered(session_factory, "reminder", "work-1.guiping@2019-Q4", 1, date(2020, 1, 9))
    assert "配合" not in lead.subject and "贵单位为配合单位" not in lead.text


def test_a_chase_states_the_days_overdue_and_its_number(loaded, session_factory):
    sweep_on(session_factory, date(2019, 11, 1))
    message = rendered(session_factory, "chase", "hrss-4", 1, date(2019, 11, 1))
    assert message.subject == "【催办】市人力资源社会保障局:举办职业技能提升行动政策培训班… 已逾期1天"
    assert_names_the_facts(message)
    assert "已逾期1天" in message.text and "第1次催办" in message.text and "第1次催办" in message.html
    assert "替代" not in message.text


def test_a_later_chase_replaces_the_earlier_chases_never_sent(loaded, session_factory):
    sweep_on(session_factory, date(2019, 11, 6))  # 4 working days overdue: chase 2; chase 1 was never written
    message = rendered(session_factory, "chase", "hrss-4", 2, date(2019, 11, 6))
    assert "已逾期6天" in message.subject  # calendar days: 11-01 … 11-06
    assert "本催办单同时替代未发出的第1次催办单" in message.text


def test_an_escalation_states_its_level_who_it_goes_to_and_the_days_overdue(loaded, session_factory):
    sweep_on(session_factory, date(2019, 11, 5))  # 3 working days overdue: level 1, to the unit's member
    message = rendered(session_factory, "escalation", "hrss-4", 1, date(2019, 11, 5))
    assert message.subject == "【督办通知单·第1级】市人力资源社会保障局:举办职业技能提升行动政策培训班… 已逾期5天"
    assert_names_the_facts(message)
    for part in (message.text, message.html):
        assert "已逾期5天" in part and "第1级督办:送领导小组成员" in part and "逾期3个工作日" in part
    assert message.to == ("wang-chun@guigang.example",)


def test_an_escalation_written_after_downtime_says_what_it_supersedes(loaded, session_factory):
    sweep_on(session_factory, date(2019, 11, 7))  # first sweep in a week: straight to level 2
    message = rendered(session_factory, "escalation", "hrss-4", 2, date(2019, 11, 7))
    assert message.subject.startswith("【督办通知单·第2级】")
    for part in (message.text, message.html):
        assert "第2级督办:送领导小组办公室及副组长" in part and "已逾期7天" in part
        assert "本通知同时替代未发出的第1级督办通知" in part
    assert message.to == ("office@guigang.example", "chen-xinhan@guigang.example", "huang-chuangyou@guigang.example")


def test_an_escalation_whose_lower_level_was_written_supersedes_nothing(loaded, session_factory):
    sweep_on(session_factory, date(2019, 11, 5), date(2019, 11, 7))
    message = rendered(session_factory, "escalation", "hrss-4", 2, date(2019, 11, 7))
    assert "替代" not in message.text and "替代" not in message.html


def test_an_office_notice_names_the_obligation_the_missing_event_and_since_when(loaded, session_factory):
    sweep_on(session_factory, date(2019, 11, 20))  # 20 working days after publication (2019-10-23)
    with session_factory() as session:
        rows = {key: session.scalars(select(Notice).where(Notice.dedupe_key == key)).one()
                for key in (f"office:{seed_key('hrss-2')}:awaiting", f"office:{seed_key('hrss-9')}:awaiting")}
        event, external = (render(session, row, date(2019, 11, 20)) for row in rows.values())
    assert event.to == external.to == ("office@guigang.example",)
    assert event.subject.startswith("【办公室提示】市人力资源社会保障局:牵头制订职业技能提升三年行动相关配套政策")
    for part in (event.text, event.html):
        for fact in ("自治区职业技能提升行动相关配套文件下发", "2019-10-23", "工作分工 · 市人力资源社会保障局 · 第2项",
                     "自治区相关文件下发后一个月内完成", f"https://duban.example/obligations/{seed_key('hrss-2')}"):
            assert fact in part, fact
    assert "仍未确定截止日期" in external.subject
    assert "按自治区要求上报" in external.text and "外部确定的截止日期" in external.text


# ── recipients ──────────────────────────────────────────────────────────────────────────────────


def audience_notice(session, audience: str, ref: str = "hrss-4") -> Notice:
    deliverable = session.get(Deliverable, deliverable_id(session, ref))
    return Notice(id=0, dedupe_key=f"test:{audience}", kind="chase", level=1, audience=audience,
                  deliverable_id=deliverable.id, obligation_id=deliverable.obligation_id, unit_id=deliverable.unit_id)


@pytest.mark.parametrize(("audience", "expected"), [
    ("unit", ("hrss@guigang.example",)),
    ("co-unit:finance", ("finance@guigang.example",)),
    ("unit-member", ("wang-chun@guigang.example",)),
    ("office", ("office@guigang.example",)),
    ("deputies", ("chen-xinhan@guigang.example", "huang-chuangyou@guigang.example")),
    ("leader", ("wei-yan@guigang.example",)),
    ("office,deputies", ("office@guigang.example", "chen-xinhan@guigang.example", "huang-chuangyou@guigang.example")),
])
def test_every_audience_part_resolves_to_its_addresses(loaded, session_factory, audience, expected):
    with session_factory() as session:
        assert recipients_for(session, audience_notice(session, audience)) == expected


def test_the_unit_member_is_the_member_who_speaks_for_the_deliverables_lead_unit(loaded, session_factory):
    with session_factory() as session:
        assert recipients_for(session, audience_notice(session, "unit-member", "finance-1")) == (
            "tan-weiying@guigang.example",)


def test_recipients_skip_retired_people_and_units_and_never_repeat_an_address(loaded, session_factory):
    with session_factory.begin() as session:
        session.get(PersonRecord, "huang-chuangyou").retired = True
        session.get(UnitRecord, "finance").retired = True
    with session_factory() as session:
        row = audience_notice(session, "unit,co-unit:hrss,deputies,co-unit:finance,office,unit")
        assert recipients_for(session, row) == (
            "hrss@guigang.example", "chen-xinhan@guigang.example", "office@guigang.example")


def test_a_unit_without_an_address_raises_no_recipients(loaded, session_factory):
    sweep_on(session_factory, date(2019, 11, 1))
    with session_factory.begin() as session:
        session.get(UnitRecord, "hrss").emails = []
    with session_factory() as session, pytest.raises(NoRecipients, match="chase:"):
        render(session, notice(session, "chase", "hrss-4", 1), date(2019, 11, 1))


def test_an_unknown_audience_part_is_a_bug_not_an_empty_list(loaded, session_factory):
    with session_factory() as session, pytest.raises(ValueError, match="everyone"):
        recipients_for(session, audience_notice(session, "unit,everyone"))


# ── templates ───────────────────────────────────────────────────────────────────────────────────


def test_every_kind_has_a_subject_a_text_and_an_html_template():
    for kind in KINDS:
        for name in ("subject.txt", "body.txt", "body.html"):
            assert (TEMPLATES / kind / name).is_file(), f"{kind}/{name}"


def test_a_template_referencing_a_missing_variable_raises():
    env = environment()
    with pytest.raises(UndefinedError):
        env.from_string("{{ nowhere }}").render()
    with pytest.raises(UndefinedError):
        env.get_template("chase/subject.txt").render(unit="市财政局")


def test_html_escapes_the_task_and_text_keeps_it_verbatim(loaded, session_factory):
    sweep_on(session_factory, date(2019, 11, 1))
    task = '<script>alert("x")</script> 培训 & 宣传'
    with session_factory.begin() as session:
        session.get(ObligationRecord, seed_key("hrss-4")).task = task
    message = rendered(session_factory, "chase", "hrss-4", 1, date(2019, 11, 1))
    assert "<script" not in message.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; 培训 &amp; 宣传" in message.html
    assert task in message.text


def all_kinds(session_factory) -> list[Message]:
    sweep_on(session_factory, date(2019, 10, 24), date(2019, 11, 5), date(2019, 11, 20))
    with session_factory() as session:
        rows = [notice(session, "reminder", "hrss-4", 5), notice(session, "chase", "hrss-4", 1),
                notice(session, "escalation", "hrss-4", 3)]
        key = f"office:{seed_key('hrss-2')}:awaiting"
        rows.append(session.scalars(select(Notice).where(Notice.dedupe_key == key)).one())
        return [render(session, row, date(2019, 11, 20)) for row in rows]


def test_html_is_self_contained_chinese_and_signed_with_the_plan(loaded, session_factory):
    for message in all_kinds(session_factory):
        html = message.html
        links = set(re.findall(r'href="([^"]+)"', html))
        assert len(links) == 1
        assert "http" not in html.replace(links.pop(), "")
        for external in ("<link", "<script", "<img", "@import", "url(", "@font-face", "<style"):
            assert external not in html.lower(), external
        assert '<html lang="zh-CN">' in html and "<table" in html
        assert "本邮件由 duban 督办系统为《贵港市职业技能提升行动工作方案(2019—2021年)》" in html
        assert "贵港市职业技能提升行动工作方案(2019—2021年)" in message.text


# ── the email ───────────────────────────────────────────────────────────────────────────────────


def test_the_wire_form_round_trips_with_the_chinese_subject_and_bodies_intact(loaded, session_factory):
    sweep_on(session_factory, date(2019, 11, 7))
    message = rendered(session_factory, "escalation", "hrss-4", 2, date(2019, 11, 7))
    raw = message.as_bytes(date=at(2019, 11, 7, 9, 5))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == message.subject and parsed["Subject"].startswith("【督办通知单·第2级】")
    assert parsed["Message-ID"] == message_id_for(message.dedupe_key, "guigang.example") == message.message_id
    assert parsed["X-Duban-Notice"] == message.dedupe_key
    # The modern parser puts a space between adjacent encoded-words of a display name (CPython #128110); the
    # header itself is right (RFC 2047 §6.2 ignores that whitespace), as the legacy decoder shows.
    assert parsed["From"].addresses[0].addr_spec == "duban@guigang.example"
    assert str(make_header(decode_header(email.message_from_bytes(raw)["From"]))) == SENDER
    assert [a.addr_spec for a in parsed["To"].addresses] == list(message.to)
    assert parsed["Date"].datetime == at(2019, 11, 7, 9, 5)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed.get_body(("plain",)).get_content() == message.text
    assert parsed.get_body(("html",)).get_content() == message.html


def test_message_ids_are_stable_and_differ_per_key():
    first = message_id_for("escalation:12:2", "guigang.example")
    assert first == message_id_for("escalation:12:2", "guigang.example")
    assert first != message_id_for("escalation:12:3", "guigang.example")
    assert re.fullmatch(r"<[0-9a-f]{32}@guigang\.example>", first)
