"""`duban report year 2019`: the year-end compliance summary (年度督办情况总结) as HTML, XLSX and JSON files;
`duban report bulletin --month 2020-03`: the supervision bulletin (督查通报) of any period, as one of them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from responsibilities.vocabulary import REPORT_FORMAT_NAMES
from workflows.cli.context import Commands

DEFAULT_REPORT_DIR = Path("var/reports")


def cmd_report_year(ctx) -> int:  # a cli_track.Context
    from responsibilities.reports.files import render_year_report, summary_file_name, write_year_report
    from responsibilities.reports.summary import year_end_summary
    from responsibilities.storage.files import write_atomically

    a = ctx.args
    today = ctx.today
    if a.out == "-" and a.format != "json":
        raise SystemExit("duban report year: --out - 表示输出到终端,只能与 --format json 同用")
    if a.format is None:  # every format, into a folder
        paths = write_year_report(ctx.sessions, year=a.year, today=today,
                                  out_dir=Path(a.out) if a.out else DEFAULT_REPORT_DIR, plan_id=a.plan)
    else:
        summary = year_end_summary(ctx.sessions, year=a.year, today=today, plan_id=a.plan)
        data = render_year_report(summary, a.format)
        if a.out == "-":
            sys.stdout.write(data.decode("utf-8"))
            return 0
        target = Path(a.out) if a.out else DEFAULT_REPORT_DIR / summary_file_name(summary, a.format)
        paths = {a.format: write_atomically(target, data)}
    print(f"已生成 {a.year} 年度督办情况总结(统计截至 {today}):")
    for fmt, path in paths.items():
        print(f"  {REPORT_FORMAT_NAMES[fmt]}:{path}")
    return 0


def cmd_report_bulletin(ctx) -> int:  # a workflows.cli.context.Context
    from responsibilities.reports.bulletin import bulletin
    from responsibilities.reports.files import bulletin_file_name, render_bulletin
    from responsibilities.storage.files import write_atomically

    a = ctx.args
    if a.out == "-" and a.format == "xlsx":
        raise SystemExit("duban report bulletin: --out - 表示输出到终端,只能与 --format html 或 json 同用")
    period = _bulletin_period(a)  # refused in one line before the database is opened
    found = bulletin(ctx.sessions, start=period.start, end=period.end, today=ctx.today)
    data = render_bulletin(found, a.format)
    if a.out == "-":
        sys.stdout.write(data.decode("utf-8"))
        return 0
    target = Path(a.out) if a.out else DEFAULT_REPORT_DIR / bulletin_file_name(found, a.format)
    path = write_atomically(target, data)
    print(f"已生成{found.title}(统计截至 {found.as_of}{'' if found.ended else ',统计期尚未结束'}):")
    print(f"  {REPORT_FORMAT_NAMES[a.format]}:{path}")
    if found.empty:
        print("  本期没有应报送的事项,通报中已说明")
    return 0


def _bulletin_period(a: argparse.Namespace):  # a periods.Period
    """The period the options name: --from and --to together, or one of --month, --quarter, --year."""
    from responsibilities.errors import InvalidInput
    from responsibilities.reports.periods import parse_day, parse_period, period_between

    shortcuts = [(flag, value) for flag, value in (("--month", a.month), ("--quarter", a.quarter),
                                                  ("--year", a.year)) if value is not None]
    span = a.start is not None or a.end is not None
    if len(shortcuts) + span != 1 or (span and (a.start is None or a.end is None)):
        raise InvalidInput("请用 --from 与 --to 给出统计期,或只用 --month、--quarter、--year 之一"
                           "(例如 --month 2020-03)")
    if span:
        return period_between(parse_day(a.start, "--from"), parse_day(a.end, "--to"))
    flag, value = shortcuts[0]
    period = parse_period(value)
    if flag == "--month" and not period.is_month or flag == "--quarter" and not period.quarter \
            or flag == "--year" and not period.is_year:
        raise InvalidInput(f"{flag}“{value}”的写法不对:月份写 2020-03,季度写 2020-Q1,年份写 2020")
    return period


def _year(value: str) -> int:
    if not (value.isdigit() and len(value) == 4):
        raise argparse.ArgumentTypeError(f"“{value}”不是年份,请写四位数字,例如 2019")
    return int(value)


def register(cli: Commands) -> None:
    # The group takes no options itself (like `duban extend`): an --as-of before `year` is refused, not lost.
    kinds = cli.group("report", "summaries and bulletins (年度督办情况总结, 督查通报)", "report_kind", metavar="KIND")
    year = cli.command("year", cmd_report_year, "the year-end compliance summary of one plan year", kinds)
    year.add_argument("year", type=_year, help="a year of the plan, e.g. 2019")
    year.add_argument("--plan", metavar="ID",
                      help="the plan (default: the office's first; `duban plan list` shows the ids); the files of "
                           "another plan are named summary-<plan>-<year>.<format>")
    year.add_argument("--format", choices=("html", "xlsx", "json"),
                      help="only this format (default: all three: html, xlsx, json)")
    year.add_argument("--out", metavar="PATH",
                      help="with --format: the file to write (json: '-' prints it); without: the folder for all "
                           f"three (default: {DEFAULT_REPORT_DIR}/summary-<year>.<format>)")
    # Dates are read by the handler, not by argparse: a bad one is one line (exit 1), as every refusal is.
    bulletin = cli.command("bulletin", cmd_report_bulletin,
                           "the supervision bulletin (督查通报) of a period, units ranked worst first", kinds)
    bulletin.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="the period's first day (with --to)")
    bulletin.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="the period's last day, included")
    bulletin.add_argument("--month", metavar="YYYY-MM", help="a month, e.g. 2020-03 (instead of --from/--to)")
    bulletin.add_argument("--quarter", metavar="YYYY-Qn", help="a quarter, e.g. 2020-Q1")
    bulletin.add_argument("--year", metavar="YYYY", help="a calendar year, e.g. 2020")
    bulletin.add_argument("--format", choices=("html", "xlsx", "json"), default="html",
                          help="html (printable, the default), xlsx or json")
    bulletin.add_argument("--out", metavar="FILE",
                          help=f"the file to write (default: {DEFAULT_REPORT_DIR}/bulletin-<period>.<format>); "
                               "'-' prints html or json")
