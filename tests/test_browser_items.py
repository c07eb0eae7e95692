"""The office assigns an item by hand in a real browser, and the unit finds it beside its plan items (issue 15).

`duban serve --as-of 2019-10-28` on a copy of the loaded seed plan; the office's clerk fills in /items/new, reads how
the deadline was understood, confirms; the lead unit's clerk signs in on another computer and finds the item among
what to do now, labelled with its plan, next to the seed plan's items.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from browser_support import Server, open_signed_in, screenshot, serving

pytestmark = pytest.mark.browser

DAY = "2019-10-28"
OFFICE, OFFICE_PASSWORD = "王春", "督办办公室-2019-口令"
CLERK, CLERK_PASSWORD = "人社局联络员", "人社局-2019-口令"
TASK = "牵头制定就业见习实施细则"


@pytest.fixture(scope="module")
def server(chromium: str, tmp_path_factory: pytest.TempPathFactory, loaded_template: Path) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("serve"), loaded_template, as_of=DAY,
                 accounts=[(OFFICE, OFFICE_PASSWORD, "--role", "office"),
                           (CLERK, CLERK_PASSWORD, "--role", "unit", "--unit", "hrss")]) as server:
        yield server


def fill_item(page, *, deadline: str) -> None:
    page.fill("#item-source", "市长办公会议纪要〔2019〕9号")
    page.fill("#item-task", TASK)
    page.fill("#item-lead", "市人社局")
    page.fill("#item-co-units", "市财政局")
    page.fill("#item-deadline", deadline)


def test_the_office_checks_the_reading_assigns_the_item_and_the_lead_unit_finds_it_among_what_to_do_now(
        browser, server: Server) -> None:
    office = open_signed_in(browser, server, OFFICE, OFFICE_PASSWORD)
    office.click("#nav-items")
    office.wait_for_url("**/items/new")

    fill_item(office, deadline="尽快")  # not a deadline: refused, what was typed kept
    office.click("#item-preview")
    assert "无法识别完成时限“尽快”" in office.inner_text("#item-problems")
    assert office.input_value("#item-task") == TASK and office.input_value("#item-lead") == "市人社局"

    office.fill("#item-deadline", "2019年11月5日前")
    office.click("#item-preview")
    assert office.inner_text("#reading-deadline") == "2019年11月5日前 → 2019-11-05"
    assert office.inner_text("#reading-lead") == "市人力资源社会保障局"
    assert "市财政局" in office.inner_text("#item-reading")
    screenshot(office, "item-check")
    office.click("#item-save")
    office.wait_for_url("**/items/new?assigned=*")
    assert office.inner_text("#assigned-link") == "assigned-2019:item-1"

    unit = open_signed_in(browser, server, CLERK, CLERK_PASSWORD)
    assert unit.url.endswith("/units/hrss")
    row = unit.locator('#now tr[data-ref="item-1"]')  # six working days left: among what to do now
    assert row.locator("a.task").inner_text() == TASK
    assert row.locator(".tag.plan").inner_text() == "2019年交办事项"
    assert "还剩 6 个工作日" in row.locator(".badge.state").inner_text()
    plans = set(unit.locator("#now .tag.plan, #later .tag.plan").all_text_contents())  # folded months too
    assert plans == {"2019年交办事项", "职业技能提升行动"}, plans  # beside its items of the seed plan
    screenshot(unit, "workspace-with-item")

    row.locator("a.task").click()
    unit.wait_for_url("**/deliverables/assigned-2019:item-1")
    assert unit.inner_text("#plan") == "2019年交办事项"
    assert "市长办公会议纪要〔2019〕9号" in unit.inner_text("#sources")
