"""`duban report year 2019`: the year-end compliance summary (年度督办情况总结) as HTML, XLSX and JSON files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from responsibilities.vocabulary import REPORT_FORMAT_NAMES
from workflows.cli.context import Commands

DEFAULT_REPORT_DIR = Path("var/reports")


def cmd_report_year(ctx) -> int:  # a cli_track.Context
    from responsibilities.reports.files import render_year_report, write_year_report
    from responsibilities.reports.summary import year_end_summary
    from responsibilities.storage.files import write_atomically

    a = ctx.args
    today = ctx.today
    if a.out == "-" and a.format != "json":
        raise SystemExit("duban report year: --out - 表示输出到终端,只能与 --format json 同用")
    if a.format is None:  # every format, into a folder
        paths = write_year_report(ctx.sessions, year=a.year, today=today,
                                  out_dir=Path(a.out) if a.out else DEFAULT_REPORT_DIR)
    else:
        summary = year_end_summary(ctx.sessions, year=a.year, today=today)
        data = render_year_report(summary, a.format)
        if a.out == "-":
            sys.stdout.write(data.decode("utf-8"))
            return 0
        target = Path(a.out) if a.out else DEFAULT_REPORT_DIR / f"summary-{a.year}.{a.format}"
        paths = {a.format: write_atomically(target, data)}
    print(f"已生成 {a.year} 年度督办情况总结(统计截至 {today}):")
    for fmt, path in paths.items():
        print(f"  {REPORT_FORMAT_NAMES[fmt]}:{path}")
    return 0


def _year(value: str) -> int:
    if not (value.isdigit() and len(value) == 4):
        raise argparse.ArgumentTypeError(f"“{value}”不是年份,请写四位数字,例如 2019")
    return int(value)


def register(cli: Commands) -> None:
    # The group takes no options itself (like `duban extend`): an --as-of before `year` is refused, not lost.
    kinds = cli.group("report", "summaries and reports (年度督办情况总结)", "report_kind", metavar="KIND")
    year = cli.command("year", cmd_report_year, "the year-end compliance summary of one plan year", kinds)
    year.add_argument("year", type=_year, help="a year of the plan, e.g. 2019")
    year.add_argument("--format", choices=("html", "xlsx", "json"),
                      help="only this format (default: all three: html, xlsx, json)")
    year.add_argument("--out", metavar="PATH",
                      help="with --format: the file to write (json: '-' prints it); without: the folder for all "
                           f"three (default: {DEFAULT_REPORT_DIR}/summary-<year>.<format>)")
