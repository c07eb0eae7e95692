"""The tracking commands as an operator runs them: a real process, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from responsibilities.errors import InvalidInput
from responsibilities.storage.backup import libpq_arguments, postgres_tool
from responsibilities.storage.migrate import HEAD
from responsibilities.tracking import services

from conftest import ROOT, database_unchanged, run_duban

pytestmark = pytest.mark.both_databases


@pytest.fixture
def workdir(tmp_path, loaded) -> Path:
    """A working folder with the plan, on the loaded test database, with the office and a leader by the names
    an operator would give them."""
    shutil.copy(ROOT / "deadlines.yaml", tmp_path)
    now = datetime(2019, 10, 23, 2, tzinfo=timezone.utc)
    services.add_user(loaded.session_factory, name="王春", role="office", now=now)
    services.add_user(loaded.session_factory, name="韦彦", role="leader", now=now)
    return tmp_path


@pytest.fixture
def duban(tmp_path, database):
    """`duban ARGS` run in tmp_path (the working folder) on the test's database."""
    return lambda *args: run_duban(tmp_path, *args, database=database)


@pytest.fixture
def ok(duban):
    """`duban ARGS`, which must succeed: its output."""
    def run(*args: str) -> str:
        result = duban(*args)
        assert result.returncode == 0, result.stderr
        return result.stdout
    return run


def status_json(ok, as_of: str, *extra: str) -> dict[str, dict]:  # the ok fixture
    return {row["id"]: row for row in json.loads(ok("status", "--as-of", as_of, "--json", *extra))}


def test_a_fresh_load_shows_the_october_2019_preparation_deliverables_red_on_1_november(workdir, ok):
    rows = status_json(ok, "2019-11-01")
    october = {ref: row for ref, row in rows.items() if row["due"] and row["due"].startswith("2019-10")}
    assert {"hrss-1", "hrss-4", "prep-2", "hrss-3@stage-1", "union-1", "miit-1"} <= set(october)
    assert {row["light"] for row in october.values()} == {"red"}
    assert rows["counties-1.guiping"]["light"] == "green"  # due 2019-12-31
    assert rows["hrss-2"]["light"] == "grey" and rows["hrss-2"]["state"] == "awaiting_event"
    first = rows["hrss-4"]
    assert {"id", "obligation", "unit", "due", "state", "light"} <= set(first)
    assert (first["obligation"], first["unit"], first["due"], first["state"]) == (
        "hrss-4", "hrss", "2019-10-31", "open")


def test_submitting_and_accepting_turns_a_red_deliverable_green_with_the_audit_trail_to_show(workdir, ok):
    (workdir / "通知.txt").write_text("贵港市职业技能提升行动政策培训班通知\n", encoding="utf-8")
    ok("submit", "hrss-4", "--as", "hrss-clerk", "--as-of", "2019-11-01", "--note", "已举办培训班",
       "--evidence", "通知.txt", "--evidence", "https://www.gxgg.gov.cn/notice")
    assert status_json(ok, "2019-11-01")["hrss-4"]["light"] == "yellow"
    ok("accept", "hrss-4", "--as", "王春", "--as-of", "2019-11-02")
    row = status_json(ok, "2019-11-02")["hrss-4"]
    assert (row["state"], row["light"]) == ("accepted", "green")
    trail = ok("audit", "--id", "hrss-4")
    lines = trail.splitlines()
    assert (len(lines) == 3 and "hrss-clerk" in lines[1] and "报送办结" in lines[1]
            and "王春" in lines[2] and "销号" in lines[2])
    shown = ok("show", "hrss-4")
    assert "通知.txt" in shown and "https://www.gxgg.gov.cn/notice" in shown and "已举办培训班" in shown
    stored = list((workdir / "var" / "evidence").rglob("*"))
    assert any(p.is_file() and p.read_text(encoding="utf-8").startswith("贵港市") for p in stored)


def test_a_unit_sees_only_its_own_deliverables_and_those_it_cooperates_on(workdir, ok, duban):
    rows = status_json(ok, "2019-11-01", "--as", "finance-clerk")
    assert rows and {row["unit"] for row in rows.values()} == {"finance"}
    refused = duban("status", "--as", "finance-clerk", "--unit", "hrss")
    assert refused.returncode == 1 and "finance-clerk(责任单位 finance)无权查看 hrss 的事项" in refused.stderr


@pytest.mark.parametrize("args, message", [
    (("accept", "hrss-1", "--as", "王春"), "hrss-1 当前状态为“待办”,不能审核销号"),
    (("submit", "finance-1", "--as", "hrss-clerk"), "没有编号为“finance-1”的应交事项"),
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
def test_bad_input_gets_a_message_exit_1_and_leaves_the_database_unchanged(workdir, duban, loaded, args, message):
    with database_unchanged(loaded):
        result = duban(*args)
    assert result.returncode == 1
    assert message in result.stderr


def test_a_stale_version_is_refused_naming_who_changed_it(workdir, ok, duban, loaded):
    ok("submit", "hrss-4", "--as", "hrss-clerk", "--as-of", "2019-11-01", "--note", "已办结")
    ok("accept", "hrss-4", "--as", "王春", "--as-of", "2019-11-02", "--expect-version", "2")
    with database_unchanged(loaded):
        stale = duban("return", "hrss-4", "--as", "王春", "--reason", "材料不全", "--expect-version", "2")
    assert stale.returncode == 1 and "hrss-4 已于" in stale.stderr and "由 王春 修改" in stale.stderr


def test_commands_refuse_a_database_without_the_schema_and_say_what_to_run(empty_database, duban, ok):
    result = duban("status")
    assert result.returncode == 1 and "duban db upgrade" in result.stderr
    assert f"空 → {HEAD}" in ok("db", "upgrade")
    assert "已是最新结构" in ok("db", "upgrade")
    no_plan = duban("status")
    assert no_plan.returncode == 1 and "尚未载入工作方案:请先运行 `duban load deadlines.yaml`" in no_plan.stderr


def test_a_new_database_is_migrated_and_loaded_by_one_load(empty_database, tmp_path, ok):
    shutil.copy(ROOT / "deadlines.yaml", tmp_path)
    assert "应交事项 新增 558" in ok("load", "--as-of", "2019-10-23")
    assert status_json(ok, "2019-11-01")["hrss-4"]["light"] == "red"
    assert "数据库已与方案一致,无变化" in ok("load", "--as-of", "2019-10-24")
    assert empty_database.count("deliverables") == 558


def test_a_load_of_an_invalid_plan_writes_nothing(workdir, duban, loaded):
    (workdir / "bad.yaml").write_text((workdir / "deadlines.yaml").read_text(encoding="utf-8").replace(
        "lead: finance", "lead: financ", 1), encoding="utf-8")
    with database_unchanged(loaded):
        result = duban("load", "bad.yaml")
    assert result.returncode == 1 and 'unknown unit or group "financ"' in result.stderr


# ── backups ──────────────────────────────────────────────────────────────────────────────────────


def test_a_backup_is_a_consistent_copy_that_restores(workdir, ok, duban, loaded, store, tmp_path):
    ok("submit", "hrss-4", "--as", "hrss-clerk", "--as-of", "2019-11-01", "--note", "已办结")
    copy = tmp_path / "backups" / "duban-2019-11-01.backup"
    copy.parent.mkdir()
    assert "完整性检查:ok" in ok("backup", str(copy))
    assert [p.name for p in copy.parent.iterdir()] == [copy.name]  # no partial file left beside it

    restored = store.new("empty", tmp_path / "restored")
    try:
        restore(copy, restored)
        assert restored.count("deliverables") == 558
        restored_status = run_duban(workdir, "status", "--as-of", "2019-11-01", "--json", database=restored)
        assert {r["id"]: r for r in json.loads(restored_status.stdout)}["hrss-4"]["state"] == "submitted"
        assert restored.dump() == loaded.dump()
    finally:
        store.discard(restored)


def restore(copy: Path, into) -> None:  # a Database
    """Restore a backup the way each database's own tools do; the copy must be whole and readable by them."""
    if into.dialect == "sqlite":
        connection = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
        try:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        finally:
            connection.close()
        shutil.copy(copy, into.path)
    else:
        listed = subprocess.run([postgres_tool("pg_restore"), "--list", copy], capture_output=True, text=True)
        assert listed.returncode == 0 and "TABLE DATA public deliverables" in listed.stdout, listed.stderr
        connection, password = libpq_arguments(make_url(into.url))
        restored = subprocess.run([postgres_tool("pg_restore"), "--no-owner", "--exit-on-error", *connection, copy],
                                  env={**os.environ, **password}, capture_output=True, text=True)
        assert restored.returncode == 0, restored.stderr


@pytest.mark.parametrize("where, message", [
    ("copy.backup", "copy.backup 已存在:备份不会覆盖已有文件"),
    ("missing/copy.backup", "文件夹 {tmp_path}/missing 不存在"),
], ids=["an existing file", "a missing folder"])
def test_a_backup_never_overwrites_a_file_nor_makes_a_folder(workdir, duban, tmp_path, where, message):
    (tmp_path / "copy.backup").write_text("an older backup", encoding="utf-8")
    refused = duban("backup", str(tmp_path / where))
    assert refused.returncode == 1 and message.format(tmp_path=tmp_path) in refused.stderr
    assert (tmp_path / "copy.backup").read_text(encoding="utf-8") == "an older backup"
    assert not (tmp_path / "missing").exists()


def test_a_postgresql_backup_without_pg_dump_says_what_to_install(tmp_path):
    with pytest.raises(InvalidInput,
                       match=r"^找不到 pg_dump\(PostgreSQL 客户端程序\).*apt-get install postgresql-client"):
        postgres_tool("pg_dump", search_path=str(tmp_path), bin_dirs=str(tmp_path / "none"))


def test_pg_dump_gets_the_password_through_its_environment_never_on_its_command_line():
    arguments, environment = libpq_arguments(make_url("postgresql+psycopg://duban:s3cr%27et@db.example:5433/duban"
                                                      "?sslmode=require"))
    assert environment == {"PGPASSWORD": "s3cr'et"}
    assert arguments == ["--dbname", "dbname='duban' host='db.example' port='5433' user='duban' sslmode='require'"]
