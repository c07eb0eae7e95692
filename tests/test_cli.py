"""The `duban` command, run as a user runs it: a real process, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "deadlines.yaml"


def duban(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DUBAN_PLAN", None)
    return subprocess.run([sys.executable, "-m", "workflows.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_plan_check_prints_a_one_screen_summary_and_exits_0():
    result = duban("plan", "check", str(PLAN))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "贵政办发〔2019〕24号" in out
    assert "工作任务 73 项" in out and "固定日期 21" in out and "持续推进 42" in out
    assert "三年 120,000" in out and "桂平市" in out and "31200" in out
    assert len(out.splitlines()) <= 30
    assert result.stderr == ""


def test_plan_check_defaults_to_deadlines_yaml_in_the_working_directory():
    result = duban("plan", "check")
    assert result.returncode == 0, result.stderr
    assert "方案检查通过" in result.stdout


def test_plan_check_json_gives_the_summary_as_data():
    result = duban("plan", "check", "--json", str(PLAN))
    summary = json.loads(result.stdout)
    assert summary["obligations"]["by_kind"] == {"fixed": 21, "ongoing": 42, "periodic": 7, "after_event": 1,
                                                 "external": 1, "staged": 1}
    assert summary["units"]["total"] == 36 and summary["units"]["by_kind"]["county_government"] == 5
    assert summary["targets"]["by_year"] == {"2019": 30000, "2020": 45000, "2021": 45000}


def test_plan_export_lists_every_obligation_with_its_parsed_rule_and_source():
    result = duban("plan", "export", "--json", str(PLAN))
    assert result.returncode == 0, result.stderr
    exported = json.loads(result.stdout)
    obligations = {o["id"]: o for o in exported["obligations"]}
    assert len(obligations) == 73
    hrss_1 = obligations["hrss-1"]
    assert hrss_1["lead"] == "hrss" and hrss_1["deadline_text"] == "2019年 10月15日前"
    assert hrss_1["rule"] == {"kind": "fixed", "text": "2019年 10月15日前", "due": "2019-10-15", "action": None}
    assert hrss_1["sources"][0]["cite"] == "工作分工 · 市人力资源社会保障局 · 第1项"
    work = obligations["work-2.pingnan"]
    assert work["lead"] == "pingnan" and work["group"] == "counties" and "justice" in work["co_units"]
    assert {u["id"] for u in exported["units"]} >= {"hrss", "guiping", "city-level", "region-gov"}


def test_deadline_parse_prints_the_rule_and_the_first_due_date_as_json():
    result = duban("deadline", "parse", "次月5日前", "--from", "2019-11-06", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"kind": "periodic", "first_due": "2019-12-05", "text": "次月5日前",
                                         "every": "month", "due_month": 2, "due_day": 5}


def test_deadline_parse_takes_the_year_of_a_yearless_phrase_from_year():
    result = duban("deadline", "parse", "十二月底", "--year", "2020", "--json")
    data = json.loads(result.stdout)
    assert (data["kind"], data["first_due"], data["due"]) == ("fixed", "2020-12-31", "2020-12-31")


def test_deadline_parse_with_only_year_gives_no_first_due_outside_that_year():
    result = duban("deadline", "parse", "2019年10月31日前", "--year", "2020", "--json")
    assert json.loads(result.stdout)["first_due"] is None


def test_deadline_parse_gives_no_first_due_for_rules_that_wait_for_an_event():
    result = duban("deadline", "parse", "自治区相关文件下发后一个月内完成", "--from", "2019-10-01", "--json")
    data = json.loads(result.stdout)
    assert (data["kind"], data["first_due"], data["event"], data["offset"]) == (
        "after_event", None, "自治区相关文件下发", 1)


def test_the_installed_console_command_runs():
    script = Path(sys.executable).parent / "duban"
    assert script.exists(), "install the project (make test does) so that the duban command exists"
    result = subprocess.run([str(script), "plan", "check", str(PLAN)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "方案检查通过" in result.stdout


def test_help_does_not_import_the_plan_machinery():
    # `duban --help` must stay fast: the CLI module imports nothing heavy at start-up.
    code = ("import sys, workflows.cli.main; print(sorted(m for m in "
            "('yaml', 'chinese_calendar', 'responsibilities.plan.loader') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.stdout.strip() == "[]"
