"""`duban plan import DOCUMENT [--year Y] [--plan-id ID] [--out DRAFT.yaml] [--json]` as people type it (issue 16)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import database_unchanged, run_duban

FIXTURES = Path(__file__).parent / "fixtures" / "import"


@pytest.fixture
def duban(tmp_path, loaded, database):
    shutil.copy(FIXTURES / "guigang-skills-2019.txt", tmp_path / "贵港职业技能提升方案.txt")
    return lambda *args: run_duban(tmp_path, *args, database=database)


def test_the_seed_text_imports_to_a_draft_with_a_json_report_for_tools(duban, tmp_path):
    result = duban("plan", "import", "贵港职业技能提升方案.txt", "--plan-id", "skills-copy", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) >= {"obligations", "units", "flags", "totals", "draft"}
    assert report["draft"] == "skills-copy.draft.yaml" and report["totals"]["obligations"] == 49
    hrss_1 = next(o for o in report["obligations"] if o["source"]["row"] == "第 137 行")
    assert hrss_1["lead"]["unit"] == "hrss" and hrss_1["rule"] == {"kind": "fixed", "first_due": "2019-10-15"}
    draft = (tmp_path / "skills-copy.draft.yaml").read_text(encoding="utf-8")
    assert "id: skills-copy" in draft and "# 待核对:" in draft
    check = duban("plan", "check", "skills-copy.draft.yaml")
    assert check.returncode == 1 and "not reviewed yet" in check.stderr and "awaits" in check.stderr


def test_the_human_report_lists_what_to_check_and_where_the_draft_is(duban, tmp_path):
    result = duban("plan", "import", "贵港职业技能提升方案.txt", "--out", "drafts/skills.yaml")
    assert result.returncode == 0, result.stderr
    assert "任务 49 项" in result.stdout and "待核对 4 处" in result.stdout
    assert "第 140 行:完成时限“自治区相关文件下发后一个月内完成”从一件外部事件算起" in result.stdout
    assert "方案草稿:drafts/skills.yaml" in result.stdout and (tmp_path / "drafts/skills.yaml").is_file()


@pytest.mark.parametrize("args, says", [
    (("plan", "import", "no-such-file.docx"), "没有文件 no-such-file.docx"),
    (("plan", "import", "notice.txt"), "没有找到分工表"),
    (("plan", "import", "贵港职业技能提升方案.txt", "--plan-id", "Bad Id"), "方案编号“Bad Id”不合规"),
    (("plan", "import", "big.txt"), "超过 20 MB 的上限"),
    (("plan", "import", "贵港职业技能提升方案.txt", "--year", "20x"), "年份"),
])
def test_bad_input_is_one_line_exit_1_and_no_draft_is_written(duban, tmp_path, loaded, args, says):
    (tmp_path / "notice.txt").write_text("关于做好2020年春节期间值班工作的通知\n请安排好值班人员。\n", encoding="utf-8")
    with open(tmp_path / "big.txt", "wb") as big:
        big.truncate(21 * 1024 * 1024)
    def files() -> set[Path]:  # the database's own files (its journal) aside
        return {p for p in tmp_path.rglob("*") if "sqlite3" not in p.name}

    before = files()
    with database_unchanged(loaded):
        result = duban(*args)
    assert result.returncode != 0 and result.stdout == "", result.stdout
    assert says in result.stderr.strip().splitlines()[-1], result.stderr  # one line (after argparse's usage)
    assert files() == before


def test_a_word_file_imports_by_its_content_whatever_its_name(duban, tmp_path):
    from import_documents import seed_docx

    seed_docx(tmp_path / "分工表.bin")  # a name that says nothing: the content decides
    result = duban("plan", "import", "分工表.bin", "--year", "2019", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["format"] == "docx" and report["tables"] == ["表格 1"] and report["totals"]["obligations"] == 46
    assert report["obligations"][2]["lead"]["unit"] == "hrss"  # 市人力资源社会保障局, merged over nine rows
