"""The tracking commands as an operator runs them: a real process, a real SQLite file under tmp_path."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from conftest import ROOT, run_duban
from responsibilities.migrate import HEAD




def ok(workdir: Path, *args: str) -> str:
    result = run_duban(workdir, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def loaded_template(tmp_path_factory) -> Path:
    """A working folder with the plan loaded and three users, built once and copied per test."""
    workdir = tmp_path_factory.mktemp("template")
    shutil.copy(ROOT / "deadlines.yaml", workdir)
    ok(workdir, "load", "--as-of", "2019-10-23")
    ok(workdir, "users", "add", "王春", "--role", "office")
    ok(workdir, "users", "add", "hrss-clerk", "--role", "unit:hrss")
    ok(workdir, "users", "add", "finance-clerk", "--role", "unit:finance")
    ok(workdir, "users", "add", "韦彦", "--role", "leader")
    return workdir


@pytest.fixture
def workdir(loaded_template, tmp_path) -> Path:
    target = tmp_path / "work"
    shutil.copytree(loaded_template, target)
    return target


def database_dump(workdir: Path) -> list[str]:
    connection = sqlite3.connect(workdir / "var" / "duban.sqlite3")
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


def status_json(workdir: Path, as_of: str, *extra: str) -> dict[str, dict]:
    return {row["id"]: row for row in json.loads(ok(workdir, "status", "--as-of", as_of, "--json", *extra))}


def test_a_fresh_load_shows_the_october_2019_preparation_deliverables_red_on_1_november(workdir):
    rows = status_json(workdir, "2019-11-01")
    october = {ref: row for ref, row in rows.items() if row["due"] and row["due"].startswith("2019-10")}
    assert {"hrss-1", "hrss-4", "prep-2", "hrss-3@stage-1", "union-1", "miit-1"} <= set(october)
    assert {row["light"] for row in october.values()} == {"red"}
    assert rows["counties-1.guiping"]["light"] == "green"  # due 2019-12-31
    assert rows["hrss-2"]["light"] == "grey" and rows["hrss-2"]["state"] == "awaiting_event"
    first = rows["hrss-4"]
    assert {"id", "obligation", "unit", "due", "state", "light"} <= set(first)
    assert (first["obligation"], first["unit"], first["due"], first["state"]) == ("hrss-4", "hrss", "2019-10-31", "open")


def test_submitting_and_accepting_turns_a_red_deliverable_green_with_the_audit_trail_to_show(workdir):
    (workdir / "通知.txt").write_text("贵港市职业技能提升行动政策培训班通知\n", encoding="utf-8")
    ok(workdir, "submit", "hrss-4", "--as", "hrss-clerk", "--as-of", "2019-11-01", "--note", "已举办培训班",
       "--evidence", "通知.txt", "--evidence", "https://www.gxgg.gov.cn/notice")
    assert status_json(workdir, "2019-11-01")["hrss-4"]["light"] == "yellow"
    ok(workdir, "accept", "hrss-4", "--as", "王春", "--as-of", "2019-11-02")
    row = status_json(workdir, "2019-11-02")["hrss-4"]
    assert (row["state"], row["light"]) == ("accepted", "green")
    trail = ok(workdir, "audit", "--id", "hrss-4")
    lines = trail.splitlines()
    assert len(lines) == 3 and "hrss-clerk" in lines[1] and "报送办结" in lines[1] and "王春" in lines[2] and "销号" in lines[2]
    shown = ok(workdir, "show", "hrss-4")
    assert "通知.txt" in shown and "https://www.gxgg.gov.cn/notice" in shown and "已举办培训班" in shown
    stored = list((workdir / "var" / "evidence").rglob("*"))
    assert any(p.is_file() and p.read_text(encoding="utf-8").startswith("贵港市") for p in stored)


def test_a_unit_sees_only_its_own_deliverables_and_those_it_cooperates_on(workdir):
    rows = status_json(workdir, "2019-11-01", "--as", "finance-clerk")
    assert rows and {row["unit"] for row in rows.values()} == {"finance"}
    refused = run_duban(workdir, "status", "--as", "finance-clerk", "--unit", "hrss")
    assert refused.returncode == 1 and "finance-clerk(责任单位 finance)无权查看 hrss 的事项" in refused.stderr


@pytest.mark.parametrize("args, message", [
    (("accept", "hrss-1", "--as", "王春"), "hrss-1 当前状态为“待办”,不能审核销号"),
    (("submit", "finance-1", "--as", "hrss-clerk"), "牵头单位是 finance"),
    (("accept", "hrss-4", "--as", "hrss-clerk"), "hrss-clerk(责任单位 hrss)无权审核销号:只有领导小组办公室可以"),
    (("waive", "hrss-4", "--as", "韦彦", "--reason", "x"), "韦彦(领导)无权更改 hrss-4:领导只能查看"),
    (("submit", "no-such-thing", "--as", "hrss-clerk"), "没有编号为“no-such-thing”的应交事项"),
    (("submit", "monthly-report.guiping", "--as", "王春"), "monthly-report.guiping@2019-11"),
    (("submit", "hrss-4", "--as", "nobody"), "没有名为“nobody”的用户"),
    (("event", "record", "region-supporting-documents", "2030-01-01", "--as", "王春", "--as-of", "2019-12-01"),
     "2030-01-01 不在工作方案实施期内"),
    (("date", "set", "hrss-9", "2018-01-01", "--as", "王春"), "2018-01-01 不在工作方案实施期内"),
    (("submit", "hrss-4", "--as", "hrss-clerk", "--evidence", "missing.pdf"), "missing.pdf"),
    (("submit", "hrss-4", "--as", "hrss-clerk", "--evidence", "javascript:alert(1)"), "javascript"),
    (("return", "hrss-4", "--as", "王春", "--reason", "  "), "hrss-4 当前状态为“待办”,不能退回"),
    (("users", "add", "x", "--role", "unit:nowhere"), "没有编号为“nowhere”的单位"),
    (("status", "--as-of", "2019-02-30"), "“2019-02-30”既不是日期"),
])
def test_bad_input_gets_a_message_exit_1_and_leaves_the_database_unchanged(workdir, args, message):
    before = database_dump(workdir)
    result = run_duban(workdir, *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert database_dump(workdir) == before


def test_a_stale_version_is_refused_naming_who_changed_it(workdir):
    ok(workdir, "submit", "hrss-4", "--as", "hrss-clerk", "--as-of", "2019-11-01")
    ok(workdir, "accept", "hrss-4", "--as", "王春", "--as-of", "2019-11-02", "--expect-version", "2")
    before = database_dump(workdir)
    stale = run_duban(workdir, "return", "hrss-4", "--as", "王春", "--reason", "材料不全", "--expect-version", "2")
    assert stale.returncode == 1 and "hrss-4 已于" in stale.stderr and "由 王春 修改" in stale.stderr
    assert database_dump(workdir) == before


def test_commands_refuse_a_database_without_the_schema_and_say_what_to_run(tmp_path):
    result = run_duban(tmp_path, "status")
    assert result.returncode == 1 and "duban db upgrade" in result.stderr
    assert f"空 → {HEAD}" in ok(tmp_path, "db", "upgrade")
    assert "已是最新结构" in ok(tmp_path, "db", "upgrade")
    no_plan = run_duban(tmp_path, "status")
    assert no_plan.returncode == 1 and "尚未载入工作方案:请先运行 `duban load deadlines.yaml`" in no_plan.stderr


def test_a_load_of_an_invalid_plan_writes_nothing(workdir):
    before = database_dump(workdir)
    (workdir / "bad.yaml").write_text((workdir / "deadlines.yaml").read_text(encoding="utf-8").replace(
        "lead: finance", "lead: financ", 1), encoding="utf-8")
    result = run_duban(workdir, "load", "bad.yaml")
    assert result.returncode == 1 and 'unknown unit or group "financ"' in result.stderr
    assert database_dump(workdir) == before


def test_a_backup_is_a_consistent_copy_that_restores_and_passes_its_integrity_check(workdir, tmp_path):
    ok(workdir, "submit", "hrss-4", "--as", "hrss-clerk", "--as-of", "2019-11-01")
    out = ok(workdir, "backup", str(tmp_path / "copy.sqlite3"))
    assert "完整性检查:ok" in out
    restored = tmp_path / "restored"
    (restored / "var").mkdir(parents=True)
    shutil.copy(tmp_path / "copy.sqlite3", restored / "var" / "duban.sqlite3")
    connection = sqlite3.connect(restored / "var" / "duban.sqlite3")
    assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert connection.execute("SELECT count(*) FROM deliverables").fetchone() == (558,)
    connection.close()
    assert status_json(restored, "2019-11-01")["hrss-4"]["state"] == "submitted"
    again = run_duban(workdir, "backup", str(tmp_path / "copy.sqlite3"))
    assert again.returncode == 1 and f"{tmp_path / 'copy.sqlite3'} 已存在:备份不会覆盖已有文件" in again.stderr
