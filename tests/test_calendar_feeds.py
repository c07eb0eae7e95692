"""Calendar subscriptions (issue 17, item 3): a unit's and the office's due dates as an .ics feed behind a secret
address, with the plan's reminder days as alarms; the address regenerated at will, the old one then gone."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from icalendar import Calendar

from responsibilities.errors import NotAllowed, NotFound
from responsibilities.reports.calendar import calendar_feed
from responsibilities.tracking import services
from responsibilities.tracking.calendars import feed_owner, make_feed

from conftest import GUIPING, HRSS, OFFICE, at, database_unchanged
from web_support import make_app, page_csrf, sign_in

pytestmark = pytest.mark.both_databases

NOW = at(2019, 10, 24)


def events(data: bytes) -> dict[str, object]:
    """The feed parsed back as a calendar program reads it: events by UID."""
    return {str(e["uid"]): e for e in Calendar.from_ical(data).walk("VEVENT")}


def test_a_units_feed_lists_its_open_deliverables_on_their_due_dates_with_the_reminder_days_as_alarms(
        loaded, session_factory):
    token = make_feed(session_factory, actor=HRSS, owner="hrss", now=NOW)
    assert feed_owner(session_factory, token) == "hrss"
    found = events(calendar_feed(session_factory, owner="hrss", base_url="https://duban.example", now=NOW))
    hrss_4 = found["guigang-skills-2019:hrss-4@duban"]
    assert hrss_4["dtstart"].dt == date(2019, 10, 31) and hrss_4["dtend"].dt == date(2019, 11, 1)
    assert str(hrss_4["summary"]).startswith("【职业技能提升行动】举办职业技能提升行动政策培训班")
    assert "https://duban.example/deliverables/guigang-skills-2019:hrss-4" in str(hrss_4["description"])
    # Reminders 5, 1 and 0 working days before 10-31 (a Thursday): 10-24, 10-30 and 10-31, each at 09:00.
    triggers = sorted(a["trigger"].dt for a in hrss_4.walk("VALARM"))
    assert triggers == [timedelta(days=-7, hours=9), timedelta(days=-1, hours=9), timedelta(hours=9)]
    assert all("责任单位:市人力资源社会保障局" in str(e["description"]) for e in found.values())  # its own only
    assert "guigang-skills-2019:prep-2@duban" in found  # led by hrss, whatever its ref says


def test_a_signed_off_deliverable_leaves_the_feed(loaded, session_factory):
    services.submit(session_factory, actor=HRSS, ref="hrss-4", note="培训班已举办", now=NOW)
    services.accept(session_factory, actor=OFFICE, ref="hrss-4", now=NOW)
    found = events(calendar_feed(session_factory, owner="hrss", base_url="https://duban.example", now=NOW))
    assert "guigang-skills-2019:hrss-4@duban" not in found and "guigang-skills-2019:hrss-1@duban" in found


def test_the_offices_feed_holds_every_units_items_named_by_unit(loaded, session_factory):
    make_feed(session_factory, actor=OFFICE, owner="office", now=NOW)
    found = events(calendar_feed(session_factory, owner="office", base_url="https://duban.example", now=NOW))
    units = {re.match(r"【(.+?)】", str(e["summary"])).group(1) for e in found.values()}
    assert {"市人力资源社会保障局", "桂平市"} <= units and len(found) > 50


def test_a_new_address_revokes_the_old_one(loaded, session_factory):
    old = make_feed(session_factory, actor=HRSS, owner="hrss", now=NOW)
    new = make_feed(session_factory, actor=OFFICE, owner="hrss", now=NOW)
    assert (feed_owner(session_factory, old), feed_owner(session_factory, new)) == (None, "hrss")


@pytest.mark.parametrize("actor, owner, refused", [
    (GUIPING, "hrss", NotAllowed),  # another unit's
    (HRSS, "office", NotAllowed),  # the office's
    (OFFICE, "no-such-unit", NotFound),
])
def test_only_a_units_own_users_and_the_office_make_its_address(loaded, session_factory, actor, owner, refused):
    with database_unchanged(loaded), pytest.raises(refused):
        make_feed(session_factory, actor=actor, owner=owner, now=NOW)


def test_the_address_opens_the_feed_without_signing_in_and_a_revoked_or_made_up_one_is_404(web_db, tmp_path):
    app = make_app(web_db.url, tmp_path / "evidence", NOW)
    unit = sign_in(app, HRSS)
    made = unit.post("/units/hrss/calendar", data={"csrf_token": page_csrf(unit, "/units/hrss")})
    assert made.status_code == 200 and "no-store" in made.headers["cache-control"]  # the secret: never cached
    address = re.search(r'value="(http://testserver/calendar/[^"]+\.ics)"', made.text).group(1)
    path = address.removeprefix("http://testserver")

    from fastapi.testclient import TestClient

    calendar_program = TestClient(app, base_url="http://testserver")  # no cookie: calendar programs cannot sign in
    feed = calendar_program.get(path)
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert "guigang-skills-2019:hrss-4@duban" in events(feed.content)

    unit.post("/units/hrss/calendar", data={"csrf_token": page_csrf(unit, "/units/hrss")})  # a new one
    gone, made_up = calendar_program.get(path), calendar_program.get("/calendar/not-a-real-token.ics")
    assert gone.status_code == made_up.status_code == 404 and gone.text == made_up.text


def test_a_unit_cannot_make_another_units_address_on_the_web(web_db, tmp_path):
    app = make_app(web_db.url, tmp_path / "evidence", NOW)
    unit = sign_in(app, HRSS)
    with database_unchanged(web_db):
        refused = unit.post("/units/guiping/calendar", data={"csrf_token": page_csrf(unit, "/units/hrss")})
        no_token = unit.post("/units/hrss/calendar", data={})
    assert refused.status_code == 404 and no_token.status_code in (400, 403)
