"""The office imports a plan from a Word document in a real browser, fixes its one flagged unit and publishes it
(issue 16, item 4).

`duban serve --as-of 2020-03-05` on a copy of the loaded seed plan; the office's clerk uploads a 任务分工 table made
in Word (python-docx) whose first task is led by 市大数据发展局, a unit the seed plan's directory does not have,
sees that row flagged, maps the name to 市工业和信息化局, names the plan, publishes, and finds the new plan on the
dashboard's plan filter.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from browser_support import Server, open_signed_in, screenshot, serving

pytestmark = pytest.mark.browser

DAY = "2020-03-05"
OFFICE, OFFICE_PASSWORD = "王春", "督办办公室-2020-口令"
BIG_DATA = "市大数据发展局"
ROWS = [
    ("1", "建设全市职业技能培训信息管理平台,实现培训、评价、补贴全流程线上办理。", BIG_DATA,
     "市人力资源社会保障局、市财政局", "2020年9月30日前"),
    ("2", "开展数字技能专项培训,全年培训5000人次以上。", "市人力资源社会保障局", "市工业和信息化局、市总工会",
     "12月底前"),
    ("3", "落实数字技能培训补贴资金。", "市财政局", "市人力资源社会保障局", "6月底前"),
    ("4", "将数字技能培训纳入企业职工岗位技能提升培训范围。", "市工业和信息化局", "市人力资源社会保障局", "持续推进"),
]


@pytest.fixture(scope="module")
def server(chromium: str, tmp_path_factory: pytest.TempPathFactory, loaded_template: Path) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("serve"), loaded_template, as_of=DAY,
                 accounts=[(OFFICE, OFFICE_PASSWORD, "--role", "office")]) as server:
        yield server


def word_document(path: Path) -> Path:
    """The division of labour as an office writes it in Word: a title, the date, a sentence, then the table."""
    from docx import Document

    document = Document()
    document.add_heading("贵港市2020年数字技能提升培训工作任务分工", level=1)
    document.add_paragraph("(2020年3月2日)")
    document.add_paragraph("为抓好各项工作任务落实,现将任务分工如下:")
    table = document.add_table(rows=1, cols=5)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("序号", "工作任务", "牵头单位", "配合单位", "完成时限"), strict=True):
        cell.text = text
    for row in ROWS:
        for cell, text in zip(table.add_row().cells, row, strict=True):
            cell.text = text
    document.save(path)
    return path


def test_the_office_uploads_a_word_table_maps_its_unknown_unit_publishes_and_finds_the_plan_on_the_dashboard(
        browser, server: Server, tmp_path: Path) -> None:
    office = open_signed_in(browser, server, OFFICE, OFFICE_PASSWORD)
    office.click("#nav-import")
    office.wait_for_url("**/imports")
    office.set_input_files("#import-file", str(word_document(tmp_path / "数字技能培训任务分工.docx")))
    office.click("#import-submit")
    office.wait_for_url("**/imports/*")

    assert office.inner_text("#obligation-count") == "4"
    assert office.inner_text("#flag-count") == "1"
    flagged = office.locator("#obligations tr.flagged")
    assert flagged.count() == 1 and flagged.get_attribute("id") == "row-0"
    assert "单位目录中没有“市大数据发展局”" in flagged.locator("li.flag").inner_text()
    assert "2020年9月30日前" in flagged.locator(".deadline-cell").inner_text()
    assert "2020-09-30" in flagged.locator(".deadline-reading").inner_text()
    second = office.locator("#row-1")
    assert "市工业和信息化局、市总工会" in second.locator(".unit-cell").inner_text()
    assert "(hrss)" in second.locator(".lead").inner_text() and "2020-12-31" in second.inner_text()
    screenshot(office, "import-draft")

    name = office.locator(f'#units li[data-name="{BIG_DATA}"]')
    name.locator("form.map select").select_option("miit")
    name.locator("form.map button").click()
    office.wait_for_load_state()
    assert office.inner_text("#flag-count") == "0"
    assert "已对应到 市工业和信息化局(miit)" in office.inner_text(f'#units li[data-name="{BIG_DATA}"]')
    assert office.locator("#obligations tr.flagged").count() == 0

    office.fill("#plan-id", "digital-skills-2020")
    office.fill("#plan-short-name", "2020年数字技能培训")
    office.click("#plan-save")
    office.wait_for_load_state()
    assert office.input_value("#plan-short-name") == "2020年数字技能培训"
    screenshot(office, "import-ready")

    office.click("#publish")
    office.wait_for_url("**/dashboard?plan=digital-skills-2020")
    option = office.locator('#filter-plan option[value="digital-skills-2020"]')
    assert option.inner_text() == "2020年数字技能培训"
    assert office.locator("#filter-plan").input_value() == "digital-skills-2020"
    units = set(office.locator("#matrix tbody tr").evaluate_all("rows => rows.map(r => r.dataset.unit)"))
    assert units == {"miit", "hrss", "finance"}, units  # 市大数据发展局's task went to the unit it was mapped to
    screenshot(office, "import-published-dashboard")
