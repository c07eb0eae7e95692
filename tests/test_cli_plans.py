"""`duban plan add|list|close`, `duban assign` and `--plan` as a person types them (processes; issue 15)."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone

import pytest

from responsibilities.tracking import services

from conftest import ROOT, SEED_ID, database_unchanged, run_duban

SECOND = "guigang-skills-copy"


@pytest.fixture
def workdir(tmp_path, loaded):
    """The seed plan, and a copy of it under another id (every ref the same: the ambiguous case)."""
    shutil.copy(ROOT / "deadlines.yaml", tmp_path)
    text = (ROOT / "deadlines.yaml").read_text(encoding="utf-8")
    second = text.replace(f"id: {SEED_ID}", f"id: {SECOND}", 1).replace("short_name: 职业技能提升行动",
                                                                          "short_name: 技能提升(副本)", 1)
    (tmp_path / "second.yaml").write_text(second, encoding="utf-8")
    services.add_user(loaded.session_factory, name="王春", role="office",
                      now=datetime(2019, 10, 23, 2, tzinfo=timezone.utc))
    return tmp_path


@pytest.fixture
def duban(workdir, database):
    return lambda *args: run_duban(workdir, *args, database=database)


def test_a_plan_is_added_listed_and_closed_and_the_list_says_so(duban):
    added = duban("plan", "add", "second.yaml", "--as", "王春", "--as-of", "2019-10-24")
    assert added.returncode == 0 and f"已新增方案 {SECOND}(技能提升(副本))" in added.stdout
    listed = json.loads(duban("plan", "list", "--json", "--as-of", "2019-10-24").stdout)
    assert [(p["id"], p["kind"], p["closed"]) for p in listed] == [(SEED_ID, "plan", False), (SECOND, "plan", False)]
    closed = duban("plan", "close", SECOND, "--as", "王春", "--as-of", "2019-10-25")
    assert closed.returncode == 0 and "不再发送其通知" in closed.stdout
    text = duban("plan", "list", "--as-of", "2019-10-25").stdout
    assert "技能提升(副本)(工作方案,已于 2019-10-25 结束)" in text


@pytest.mark.parametrize("args, says", [
    (("plan", "add", "deadlines.yaml"), f"方案编号“{SEED_ID}”已被"),
    (("plan", "close", "no-such-plan"), "没有编号为“no-such-plan”的工作方案"),
    (("assign", "--lead", "市人社局", "--task", "x", "--deadline", "尽快"), "无法识别完成时限“尽快”"),
    (("assign", "--lead", "市宇宙局", "--task", "x", "--deadline", "2019年12月底前"), "单位目录中没有“市宇宙局”"),
    (("assign", "--lead", "市人社局", "--task", "x", "--deadline", "2019年9月底前"), "已经过去"),
])
def test_bad_input_is_one_line_exit_1_and_nothing_changed(duban, loaded, args, says):
    with database_unchanged(loaded):
        result = duban(*args, "--as", "王春", "--as-of", "2019-10-24")
    assert result.returncode == 1 and says in result.stderr and result.stdout == ""


def test_an_ambiguous_ref_lists_the_candidates_and_plan_picks_one(duban):
    assert duban("plan", "add", "second.yaml", "--as-of", "2019-10-24").returncode == 0
    ambiguous = duban("submit", "hrss-4", "--note", "已办结", "--as", "王春", "--as-of", "2019-10-28")
    assert ambiguous.returncode == 1
    assert f"{SEED_ID}:hrss-4(职业技能提升行动)、{SECOND}:hrss-4(技能提升(副本))" in ambiguous.stderr
    assert "--plan" in ambiguous.stderr
    picked = duban("submit", "hrss-4", "--plan", SECOND, "--note", "已办结", "--as", "王春", "--as-of", "2019-10-28")
    assert picked.returncode == 0, picked.stderr
    rows = json.loads(duban("status", "--json", "--all", "--as-of", "2019-10-28").stdout)
    assert {(r["plan"], r["state"]) for r in rows if r["id"] == "hrss-4"} == {(SEED_ID, "open"), (SECOND, "submitted")}


def test_the_office_assigns_an_item_and_the_reference_printed_opens_it(duban):
    assigned = duban("assign", "--lead", "市人社局", "--task", "牵头制定就业见习实施细则",
                     "--deadline", "2019年12月底前", "--co-unit", "市财政局",
                     "--source", "市长办公会议纪要〔2019〕9号", "--as", "王春", "--as-of", "2019-10-24")
    assert assigned.returncode == 0, assigned.stderr
    ref = assigned.stdout.splitlines()[0]
    assert ref == "assigned-2019:item-1" and "2019年12月底前 → 2019-12-31" in assigned.stdout
    shown = duban("show", ref, "--as-of", "2019-10-24")
    assert shown.returncode == 0 and "牵头制定就业见习实施细则" in shown.stdout
    listed = json.loads(duban("plan", "list", "--json", "--as-of", "2019-10-24").stdout)
    assert {p["id"]: p["kind"] for p in listed}["assigned-2019"] == "standing"
    no_user = duban("assign", "--lead", "hrss", "--task", "x", "--deadline", "2019年12月底前", "--as-of", "2019-10-24")
    assert no_user.returncode == 1 and "--as" in no_user.stderr


def test_the_year_end_summary_of_another_plan_is_written_under_its_own_name(duban, workdir):
    assert duban("assign", "--lead", "市人社局", "--task", "牵头制定就业见习实施细则", "--deadline", "2019年11月底前",
                 "--as", "王春", "--as-of", "2019-10-24").returncode == 0
    written = duban("report", "year", "2019", "--plan", "assigned-2019", "--as-of", "2020-01-02")
    assert written.returncode == 0, written.stderr
    summary = json.loads((workdir / "var/reports/summary-assigned-2019-2019.json").read_text(encoding="utf-8"))
    assert summary["plan"]["id"] == "assigned-2019" and summary["totals"]["overdue"] == 1
    assert not (workdir / "var/reports/summary-2019.json").exists()  # the seed plan's is not written over
    unknown = duban("report", "year", "2019", "--plan", "no-such-plan", "--as-of", "2020-01-02")
    assert unknown.returncode == 1 and "没有编号为“no-such-plan”的工作方案" in unknown.stderr
