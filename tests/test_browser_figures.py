"""The monthly figures in a real browser: a region's clerk fills in the month form in Chromium, gets the
message next to the field that is wrong with what was typed kept, corrects it, and the office sees the
region's actual on the dashboard's progress table and chart.

One server for the module, on a copy of the loaded seed plan, the clock pinned to 3 April 2020.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from browser_support import Server, open_signed_in, screenshot, serving

pytestmark = pytest.mark.browser

DAY = "2020-04-03"
OFFICE, OFFICE_PASSWORD = "王春", "督办办公室-2020-口令"
CLERK, CLERK_PASSWORD = "桂平填报员", "桂平人社局-2020-口令"
FIGURES = {"total": "900", "enterprise-workers": "500", "key-groups": "300", "graduates": "50",
           "migrant-workers": "100", "school-leavers": "30", "laid-off": "40", "veterans": "20", "hard-to-employ": "10",
           "poor-labour": "80", "new-apprentices": "9"}


@pytest.fixture(scope="module")
def server(chromium: str, tmp_path_factory: pytest.TempPathFactory, loaded_template: Path) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("serve-figures"), loaded_template, as_of=DAY,
                 accounts=[(OFFICE, OFFICE_PASSWORD, "--role", "office"),
                           (CLERK, CLERK_PASSWORD, "--role", "unit", "--unit", "guiping")]) as server:
        yield server


def test_a_region_corrects_a_refused_figure_in_place_and_the_office_sees_it_on_the_dashboard(browser, server):
    clerk = open_signed_in(browser, server, CLERK, CLERK_PASSWORD)
    clerk.goto("/units/guiping#figures")
    clerk.select_option("#figures-month", "2020-02")
    for field, value in {**FIGURES, "enterprise-workers": "950"}.items():
        clerk.fill(f"#figures-{field}", value)
    clerk.click("#figures-button")
    error = clerk.locator("#figures-enterprise-workers-error")
    assert "「企业职工」950 大于「培训总人次」900" in error.inner_text()
    assert clerk.input_value("#figures-enterprise-workers") == "950" and clerk.input_value("#figures-total") == "900"
    assert clerk.locator("#figures-month").input_value() == "2020-02"
    screenshot(clerk, "figures-form-error")
    clerk.fill("#figures-enterprise-workers", "500")
    clerk.click("#figures-button")
    clerk.wait_for_url("**/deliverables/monthly-report.guiping@2020-02?done=figures")
    assert "900" in clerk.locator('#figures-values tr[data-field="total"]').inner_text()

    office = open_signed_in(browser, server, OFFICE, OFFICE_PASSWORD)
    office.goto("/dashboard")
    assert office.locator('#progress tr[data-region="guiping"] td[data-col="actual"]').inner_text() == "900"
    bar = office.locator('#progress-chart g[data-label="桂平市"] .chart-actual')
    assert float(bar.get_attribute("width")) > 0
    colour = bar.evaluate("element => getComputedStyle(element).fill")
    assert colour not in ("", "none", "rgb(0, 0, 0)")  # the stylesheet colours it: no inline style needed
    screenshot(office, "dashboard-progress")
