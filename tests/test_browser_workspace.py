"""A county's workspace in a real browser: what to do now first, the later months folded.

`duban serve --as-of 2020-06-15` on a copy of the loaded seed plan where 桂平市 (guiping) has handed in one quarterly
report (waiting for the office) and had another item returned; its clerk signs in from a laptop and from a phone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from responsibilities.storage.db import make_engine, make_session_factory
from responsibilities.tracking import services

from browser_support import Server, open_signed_in, screenshot, serving
from conftest import GUIPING, OFFICE, copy_database

pytestmark = pytest.mark.browser

DAY = "2020-06-15"
CLERK, PASSWORD = "桂平市联络员", "桂平市-2020-口令"
NOW = datetime(2020, 6, 12, 10, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="module")
def server(chromium: str, tmp_path_factory: pytest.TempPathFactory, loaded_template: Path) -> Iterator[Server]:
    prepared = tmp_path_factory.mktemp("prepared") / "duban.sqlite3"
    copy_database(loaded_template, prepared)
    engine = make_engine(f"sqlite:///{prepared}")
    sessions = make_session_factory(engine)
    services.submit(sessions, actor=GUIPING, ref="work-1.guiping@2020-Q1", now=NOW, note="一季度培训情况")
    services.submit(sessions, actor=GUIPING, ref="counties-1.guiping", now=NOW, note="已成立领导小组")
    services.return_for_rework(sessions, actor=OFFICE, ref="counties-1.guiping", reason="缺少印发文件", now=NOW)
    engine.dispose()
    with serving(tmp_path_factory.mktemp("serve"), prepared, as_of=DAY,
                 accounts=[(CLERK, PASSWORD, "--role", "unit", "--unit", "guiping")]) as server:
        yield server


def signed_in_page(browser, server: Server, **options):  # the county's clerk, on its workspace
    page = open_signed_in(browser, server, CLERK, PASSWORD, **options)
    page.wait_for_url("**/units/guiping")
    return page


def test_a_county_user_sees_what_to_do_now_first_and_the_later_months_folded(browser, server: Server) -> None:
    page = signed_in_page(browser, server)
    headings = page.locator("main h2").all_inner_texts()
    assert headings[0].startswith("现在要办"), headings  # the first section of the page
    assert headings[1].startswith("等待审核") and headings[2].startswith("以后到期"), headings
    counts = {li.get_attribute("data-count"): int(li.locator("strong").inner_text())
              for li in page.locator("#workspace-counts li").all()}
    assert counts["overdue"] == page.locator('#now tr[data-why="overdue"]').count() > 0
    assert counts["reviewing"] == 1 and page.locator('#reviewing tr[data-ref="work-1.guiping@2020-Q1"]').count() == 1

    now = page.locator("#now tbody tr")
    first = now.first
    assert first.get_attribute("data-ref") == "monthly-report.guiping@2019-11"  # the most days overdue
    assert first.locator("a.task").inner_text().startswith("各县(市、区)月报表")  # the task in words leads
    assert first.locator(".badge.state").inner_text().endswith("逾期 193 天")
    returned = page.locator('#now tr[data-ref="counties-1.guiping"]')
    assert "退回理由:缺少印发文件" in returned.inner_text()
    assert returned.locator("a.task").get_attribute("title").startswith("成立职业技能提升三年行动领导小组")

    # A badge is one line however narrow its column: its height is about one line's, never one per character.
    heights = page.evaluate("""[...document.querySelectorAll('#now .badge')].map(
        b => b.getBoundingClientRect().height / parseFloat(getComputedStyle(b).lineHeight))""")
    assert heights and max(heights) < 1.5, heights

    months = page.locator("#later details.month")
    assert months.count() == 11 and months.first.get_attribute("data-month") == "2020-07"
    assert all(m.get_attribute("open") is None for m in months.all())  # folded
    july = page.locator('#later details[data-month="2020-07"]')
    assert "2020年7月" in july.locator("summary").inner_text() and "4 项" in july.locator("summary").inner_text()
    assert not july.locator("tbody tr").first.is_visible()
    screenshot(page, "workspace-county", full_page=False)  # the first screenful
    july.locator("summary").click()
    assert july.locator("tbody tr").count() == 4 and july.locator("tbody tr").first.is_visible()
    assert page.locator("#beyond").inner_text().startswith("另有")

    page.click("#all-deliverables-link")  # everything, done items too, a page at a time
    page.wait_for_url("**/units/guiping/deliverables")
    assert page.locator("#all-deliverables tbody tr").count() == 50
    page.context.close()


def test_a_county_workspace_fits_a_phone_with_the_badges_on_one_line_each(browser, server: Server) -> None:
    page = signed_in_page(browser, server, viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True,
                          device_scale_factor=2)
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide on a {widths[1]} px screen"
    heights = page.evaluate("""[...document.querySelectorAll('#now .badge')].map(
        b => b.getBoundingClientRect().height / parseFloat(getComputedStyle(b).lineHeight))""")
    assert heights and max(heights) < 1.5, heights
    screenshot(page, "workspace-county-phone", full_page=False)
    page.context.close()
