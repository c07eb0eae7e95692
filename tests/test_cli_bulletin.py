"""`duban report bulletin`: the bulletin of a period as a file, and every bad period one line and exit 1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from responsibilities.tracking import services
from workflows.cli.main import main

from conftest import OFFICE, ROOT, at, run_duban


@pytest.fixture
def cli(loaded, tmp_path, monkeypatch, capsys):
    """`duban ARGS` in this process, in a folder of its own, on the loaded seed plan: (exit code, stdout, stderr)."""
    services.submit(loaded.session_factory, actor=OFFICE, ref="miit-1", now=at(2019, 10, 30), note="已办结")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DUBAN_DATABASE_URL", loaded.url)
    monkeypatch.setenv("DUBAN_TIME_ZONE", "Asia/Shanghai")

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["report", "bulletin", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_report_bulletin_writes_the_months_bulletin_into_var_reports_and_says_as_of_when(cli, tmp_path):
    code, out, err = cli("--month", "2019-10", "--as-of", "2020-01-10")
    assert (code, err) == (0, "")
    assert "已生成2019年10月督查通报(统计截至 2019-10-31)" in out and "var/reports/bulletin-2019-10.html" in out
    page = (tmp_path / "var/reports/bulletin-2019-10.html").read_text(encoding="utf-8")
    assert "统计截至 2019-10-31" in page and "市工业和信息化局" in page


def test_report_bulletin_writes_a_spreadsheet_of_any_span_to_the_file_named(cli, tmp_path):
    code, out, _ = cli("--from", "2019-10-01", "--to", "2019-11-15", "--format", "xlsx", "--out", "通报/十月.xlsx",
                       "--as-of", "2019-11-10")
    assert code == 0 and "统计截至 2019-11-10,统计期尚未结束" in out
    book = load_workbook(tmp_path / "通报/十月.xlsx")
    assert book.sheetnames == ["各单位情况", "合计", "逾期未报送事项", "统计口径"]
    assert book["合计"]["B2"].value == "2019年10月1日至11月15日"


def test_the_quarter_and_year_shortcuts_name_the_same_periods_as_from_and_to(cli):
    def printed(*args: str) -> dict:
        code, out, _ = cli(*args, "--format", "json", "--out", "-", "--as-of", "2020-06-01")
        assert code == 0
        return json.loads(out)

    quarter = printed("--quarter", "2019-Q4")
    assert quarter["title"] == "2019年第四季度督查通报"
    assert quarter == printed("--from", "2019-10-01", "--to", "2019-12-31")
    assert printed("--year", "2019")["period"] == {"start": "2019-01-01", "end": "2019-12-31", "key": "2019",
                                                   "label": "2019年"}


def test_a_period_with_nothing_to_report_is_still_written_and_says_so(cli, tmp_path):
    code, out, _ = cli("--month", "2019-08", "--as-of", "2020-01-10")
    assert code == 0 and "本期没有应报送的事项" in out
    assert "2019年8月没有应报送的事项" in (tmp_path / "var/reports/bulletin-2019-08.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(("args", "message"), [
    (("--from", "2020-03-31", "--to", "2020-03-01"), "统计期起始日 2020-03-31 晚于截止日 2020-03-01"),
    (("--from", "2015-01-01", "--to", "2020-03-01"), "超过 5 年"),
    (("--from", "2020-02-30", "--to", "2020-03-31"), "--from“2020-02-30”不是日期:请写成 YYYY-MM-DD"),
    (("--from", "2020-03-01", "--to", "下个月"), "--to“下个月”不是日期"),
    (("--from", "2020-03-01"), "请用 --from 与 --to 给出统计期"),
    (("--month", "2020-03", "--year", "2020"), "只用 --month、--quarter、--year 之一"),
    ((), "请用 --from 与 --to 给出统计期"),
    (("--month", "2020-13"), "“2020-13”不是统计期"),
    (("--quarter", "2020-03"), "--quarter“2020-03”的写法不对"),
    (("--year", "0020"), "“0020”不是统计期"),
    (("--from", "0001-01-01", "--to", "0001-12-31"), "不在可统计的年份内"),
    (("--month", "2021-01"), "统计期自 2021-01-01 开始,尚未到来(今天是 2020-06-01)"),
])
def test_a_bad_period_is_one_line_and_exit_1_and_writes_nothing(cli, tmp_path, args, message):
    code, out, err = cli(*args, "--as-of", "2020-06-01")
    assert code == 1 and out == ""
    assert err.startswith("duban: ") and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "var/reports").exists()


def test_a_spreadsheet_is_not_printed_to_the_terminal(cli):
    with pytest.raises(SystemExit, match="--out - 表示输出到终端,只能与 --format html 或 json 同用"):
        cli("--month", "2019-10", "--format", "xlsx", "--out", "-")


@pytest.mark.slow
def test_the_installed_command_refuses_a_backwards_period_without_a_traceback(tmp_path):
    shutil.copy(ROOT / "deadlines.yaml", tmp_path)
    result = run_duban(tmp_path, "report", "bulletin", "--from", "2020-03-31", "--to", "2020-03-01")
    assert result.returncode == 1 and result.stderr.startswith("duban: 统计期起始日 2020-03-31 晚于截止日")
    assert not Path(tmp_path / "var").exists()  # refused before the database is opened
