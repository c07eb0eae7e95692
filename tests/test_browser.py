"""The web pages in a real browser: Chromium (the system's) driven by Playwright against `duban serve`.

One server per module, on a copy of the loaded seed plan, its accounts added with `duban users add` and
the clock pinned to 2019-10-28 (agriculture-1 is due on the 31st: yellow). Every test opens its own
browser context, so cookies never leak from one test to another. Screenshots of the main pages land in
var/artifacts/screenshots/ as a by-product.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from browser_support import Server, screenshot, serving, sign_in

pytestmark = pytest.mark.browser

DAY = "2019-10-28"
OFFICE, OFFICE_PASSWORD = "王春", "督办办公室-2019-口令"
UNIT, UNIT_PASSWORD = "agri-clerk", "农业农村局-2019-口令"
UNIT_ID, UNIT_NAME, REF = "agriculture", "市农业农村局", "agriculture-1"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def server(chromium: str, tmp_path_factory: pytest.TempPathFactory, loaded_template: Path) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("serve"), loaded_template, as_of=DAY,
                 accounts=[(OFFICE, OFFICE_PASSWORD, "--role", "office"),
                           (UNIT, UNIT_PASSWORD, "--role", "unit", "--unit", UNIT_ID)]) as server:
        yield server


@pytest.fixture
def new_page(browser, server: Server):
    """Pages, each in a browser context of its own (a person at their own computer)."""
    contexts = []

    def open_page(**options):
        context = browser.new_context(base_url=server.url, locale="zh-CN", accept_downloads=True,
                                      **({"viewport": {"width": 1280, "height": 900}} | options))
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def light_label(page, selector: str) -> str:
    """The light's word (红, 黄, 绿, 灰), which is what people without colour vision read."""
    return page.locator(selector).locator(".light").first.inner_text().replace("●", "").strip()


def matrix_row(page, unit: str) -> dict[str, int]:
    """The dashboard's counts for one unit, keyed by the label of each column header (红 黄 绿 灰 合计)."""
    labels = [h.replace("●", "").strip() for h in page.locator("#matrix thead th").all_inner_texts()]
    cells = page.locator(f'#matrix tr[data-unit="{unit}"] td').all_inner_texts()
    return {label: int(count) for label, count in zip(labels[1:], cells, strict=True)}


def test_a_unit_submits_with_evidence_the_office_accepts_and_the_units_light_on_the_dashboard_turns_green(
        new_page, tmp_path: Path) -> None:
    office = new_page()
    office.goto("/dashboard")
    assert "/signin" in office.url
    screenshot(office, "signin")
    sign_in(office, OFFICE, OFFICE_PASSWORD)
    assert office.url.endswith("/dashboard")
    before = matrix_row(office, UNIT_ID)
    assert before["黄"] == 1 and before["红"] == 0, before  # agriculture-1, due in three days
    screenshot(office, "dashboard")

    unit = new_page()
    unit.goto("/")
    sign_in(unit, UNIT, UNIT_PASSWORD)
    assert unit.url.endswith(f"/units/{UNIT_ID}")
    assert UNIT_NAME in unit.inner_text("#unit-title")
    row = unit.locator(f'#now tr[data-ref="{REF}"]')  # due in three working days: among what to do now
    assert row.locator("[data-light]").get_attribute("data-light") == "yellow"
    assert "还剩 3 个工作日" in row.locator(".badge.state").inner_text()
    screenshot(unit, "workspace")

    row.locator("a.task").click()
    assert unit.inner_text("#state").startswith("待办")
    evidence = tmp_path / "农牧渔业企业培训计划.pdf"
    evidence.write_bytes(PDF)
    unit.fill("#submit-note", "已督促全市农牧渔业企业制订培训计划并报送")
    unit.set_input_files("#submit-evidence", str(evidence))
    unit.click("#submit-button")
    unit.wait_for_url("**done=submit")
    assert unit.inner_text("#done") == "已保存。"
    assert unit.inner_text("#state").startswith("已报待审")
    assert evidence.name in unit.inner_text("#evidence")
    assert "已督促全市农牧渔业企业制订培训计划并报送" in unit.inner_text("#timeline")
    screenshot(unit, "deliverable")
    with unit.expect_download() as download:
        unit.click(f'#evidence a:has-text("{evidence.name}")')
    assert Path(download.value.path()).read_bytes() == PDF

    office.reload()
    assert office.locator(f'#reviews tr[data-ref="{REF}"]').count() == 1
    office.click(f'#reviews tr[data-ref="{REF}"] a')
    assert office.inner_text("#review-title") == "审核"
    assert evidence.name in office.inner_text("#evidence")
    screenshot(office, "review")
    office.fill("#accept-note", "材料齐全")
    office.click("#accept-button")
    office.wait_for_url("**done=review")
    assert office.inner_text("#state").startswith("已销号")
    assert light_label(office, "#deliverable-title") == "绿"

    office.click("#nav-dashboard")
    after = matrix_row(office, UNIT_ID)
    assert after["红"] == after["黄"] == after["灰"] == 0 and after["绿"] == after["合计"] == before["合计"], after
    assert office.locator(f'#reviews tr[data-ref="{REF}"]').count() == 0
    unit.goto(f"/units/{UNIT_ID}")
    assert unit.locator(f'#deliverables tr[data-ref="{REF}"]').count() == 0  # done: off the workspace
    unit.click("#all-deliverables-link")  # the full list has it, green
    assert light_label(unit, f'#all-deliverables tr[data-ref="{REF}"]') == "绿"


def test_a_unit_opening_another_units_deliverable_gets_the_not_found_page(new_page) -> None:
    page = new_page()
    page.goto("/signin")
    sign_in(page, UNIT, UNIT_PASSWORD)
    for path in ("/deliverables/finance-1", "/units/finance", "/obligations/finance-1"):
        response = page.goto(path)
        assert response is not None and response.status == 404, path
        assert page.inner_text("h1") == "未找到", path
        assert "财政" not in page.inner_text("main"), path  # nothing of the other unit's work is shown
        if path.startswith("/units/"):  # unit ids are public (the plan lists them): a plain refusal
            assert "finance" not in page.inner_text("main"), path
            continue
        shown = page.inner_text("main").replace("finance", "X")
        page.goto(path.replace("finance", "nosuch"))  # the answer is the one for what does not exist
        assert page.inner_text("main").replace("nosuch", "X") == shown, path
    screenshot(page, "not-found")
    response = page.goto("/dashboard")  # every unit's overview is the office's
    assert response is not None and response.status == 403 and page.inner_text("h1") == "无权进行此操作"


def test_signing_out_ends_the_session_so_going_back_asks_for_sign_in_again(new_page, browser, server) -> None:
    page = new_page()
    page.goto("/signin")
    sign_in(page, UNIT, UNIT_PASSWORD)
    assert page.inner_text("#whoami").startswith(UNIT)
    old_cookies = page.context.cookies()
    page.click("#signout")
    page.wait_for_url("**/signin")
    page.go_back()
    assert "/signin" in page.url and page.locator("#signin-form").is_visible()
    assert page.locator("#whoami").count() == 0
    page.goto(f"/deliverables/{REF}")
    assert "/signin" in page.url
    # The session ended on the server too: the old cookie, replayed, opens nothing.
    replay = new_page()
    replay.context.add_cookies(old_cookies)
    replay.goto(f"/units/{UNIT_ID}")
    assert "/signin" in replay.url and replay.locator("#signin-form").is_visible()


def test_the_workspace_fits_a_phone_screen_without_sideways_scrolling(new_page) -> None:
    page = new_page(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True, device_scale_factor=2)
    page.goto("/signin")
    sign_in(page, UNIT, UNIT_PASSWORD)
    assert page.url.endswith(f"/units/{UNIT_ID}")
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide on a {widths[1]} px screen"
    assert page.locator("#signout").is_visible() and page.locator("#nav-workspace").is_visible()
    screenshot(page, "workspace-phone", full_page=False)  # the first screenful


def test_the_office_narrows_the_dashboard_to_a_unit_by_typing_part_of_its_name(new_page) -> None:
    page = new_page()
    page.goto("/signin")
    sign_in(page, OFFICE, OFFICE_PASSWORD)
    assert page.locator("#unit-names option").count() >= 25  # the field suggests the plan's units as one types
    page.fill("#filter-unit", "农业")
    page.click("#filter-apply")
    page.wait_for_url("**/dashboard?*")
    assert page.locator("#matrix tbody tr").count() == 1
    assert page.locator(f'#matrix tr[data-unit="{UNIT_ID}"] th').inner_text() == UNIT_NAME
    assert page.input_value("#filter-unit") == "农业"
    page.fill("#filter-unit", "人民政府")  # the city's and every county's government: which one?
    page.click("#filter-apply")
    page.wait_for_load_state()
    error = page.locator("#filters-unit-error")
    assert error.is_visible() and error.inner_text().startswith("有多个单位符合「人民政府」")
    assert page.get_attribute("#filter-unit", "aria-invalid") == "true"
    assert page.locator("#matrix tbody tr").count() > 20  # meanwhile every unit is shown
    screenshot(page, "dashboard-unit-filter")
