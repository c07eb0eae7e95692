"""`duban figures`: the monthly figures (月报) and where every region stands against its targets.

    duban figures submit guiping 2020-03 total=1200 enterprise-workers=700 … --as guiping-clerk
    duban figures progress --year 2020 [--json]
    duban figures template --month 2020-03 [--region guiping] [--out PATH]
    duban figures import FILE.xlsx --as USER [--reason TEXT]
    duban figures history monthly-report.guiping@2020-03
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from responsibilities.vocabulary import LIGHT_NAMES
from workflows.cli.context import Commands, bounded_int


def _month(value: str):
    from responsibilities.figures.rules import parse_month

    month = parse_month(value)
    if month is None:
        raise argparse.ArgumentTypeError(f"“{value}”不是月份,请写成 YYYY-MM,例如 2020-03")
    return month


def _today(ctx):
    return ctx.today


def _print_refusal(error) -> int:
    print(f"duban: {error}", file=sys.stderr)
    return 1


def cmd_submit(ctx) -> int:  # a cli_track.Context
    from responsibilities.figures.rules import fields_of, resolve_field
    from responsibilities.figures.service import figures_settings, submit_figures
    from responsibilities.storage.db import read_session

    a = ctx.args
    with read_session(ctx.sessions) as session:
        fields = fields_of(figures_settings(session).fields)
    raw: dict[str, object] = {}
    for pair in a.values:
        key, sep, value = pair.partition("=")
        field = resolve_field(fields, key) if sep else None
        if field is None:
            names = "、".join(f"{f.id}({f.name})" for f in fields)
            print(f"duban figures submit: “{pair}” 应写作 填报项=人次;填报项为:{names}", file=sys.stderr)
            return 1
        raw[field.id] = value
    recorded = submit_figures(ctx.sessions, actor=ctx.actor, region=a.region, month=a.month, values=raw,
                              now=ctx.now, note=a.note, reason=a.reason)
    verb = "已报送" if recorded.kind == "submission" else "已更正"
    print(f"{recorded.ref}:{verb}第 {recorded.version} 版数据,培训总人次 {recorded.values.get('total', 0):,}"
          f"(状态:{_state(recorded.state)})")
    return 0


def _state(state: str) -> str:
    from responsibilities.vocabulary import STATE_NAMES

    return STATE_NAMES.get(state, state)


def cmd_progress(ctx) -> int:
    from responsibilities.figures.progress import numbers_to_json, plan_numbers

    today = _today(ctx)
    numbers = plan_numbers(ctx.sessions, year=ctx.args.year or today.year, today=today)
    if ctx.args.json:
        print(json.dumps(numbers_to_json(numbers), ensure_ascii=False, indent=2))
        return 0
    print(render_progress(numbers))
    return 0


def render_progress(n) -> str:  # a PlanNumbers
    def pct(value) -> str:
        return "—" if value is None else f"{value * 100:.1f}%"

    lines = [f"{n.year} 年培训目标完成情况(截至 {n.as_of},单位:{n.unit_of_measure})",
             f"{'地区':<6} {'年度目标':>8} {'序时进度':>8} {'完成':>8} {'完成率':>7} "
             f"{'三年累计':>8} {'企业职工占比':>10}  状态"]
    for r in n.regions:
        share = ("—" if r.enterprise_share is None
                 else f"{r.enterprise_share * 100:.1f}%" + ("" if r.share_met else "(未达50%)"))
        missing = f" 缺报 {'、'.join(r.year.months_missing)}" if r.year.months_missing else ""
        lines.append(f"{r.region_name:<6} {r.year.target:>10,} {round(r.year.expected):>10,} {r.year.actual:>10,} "
                     f"{pct(r.year.done):>8} {r.cumulative.actual:>10,} {share:>12}  "
                     f"[{LIGHT_NAMES[r.light]}]{' 落后序时进度' if r.year.behind else ''}{missing}")
    t = n.year_total
    lines.append(f"{'全市':<6} {t.target:>10,} {round(t.expected):>10,} {t.actual:>10,} {pct(t.done):>8} "
                 f"{n.cumulative_total.actual:>10,}  三年目标 {n.cumulative_total.target:,}"
                 f"({pct(n.cumulative_total.done)})")
    lines.append("分类累计:" + ";".join(f"{c.name} {c.actual:,}/{c.target:,}{c.unit_of_measure}({pct(c.done)})"
                                       for c in n.categories))
    return "\n".join(lines)


def cmd_template(ctx) -> int:
    from responsibilities.figures.rules import month_key
    from responsibilities.figures.xlsx import form_for
    from responsibilities.storage.files import write_atomically

    a = ctx.args
    regions = a.region or None
    data = form_for(ctx.sessions, month=a.month, regions=regions)
    suffix = regions[0] if regions and len(regions) == 1 else "all"
    target = Path(a.out) if a.out else Path("var/figures") / f"figures-{month_key(a.month)}-{suffix}.xlsx"
    if target.is_dir():
        target = target / f"figures-{month_key(a.month)}-{suffix}.xlsx"
    path = write_atomically(target, data)
    print(f"已生成 {month_key(a.month)} 月报表:{path}")
    return 0


def cmd_import(ctx) -> int:
    from responsibilities.figures.service import FiguresInvalid
    from responsibilities.figures.xlsx import import_form

    path = Path(ctx.args.file)
    try:
        data = path.read_bytes()
    except OSError as error:
        return _print_refusal(f"无法读取 {path}:{error.strerror}")
    try:
        recorded, skipped = import_form(ctx.sessions, actor=ctx.actor, data=data, now=ctx.now, reason=ctx.args.reason)
    except FiguresInvalid as invalid:
        print(f"duban: {path} 有 {len(invalid.problems)} 处错误,未导入任何数据:", file=sys.stderr)
        for problem in invalid.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"已导入 {path}:{len(recorded)} 份月报")
    for r in recorded:
        verb = "报送" if r.kind == "submission" else "更正"
        print(f"  {r.ref}:{verb}第 {r.version} 版,培训总人次 {r.values.get('total', 0):,}")
    for where in skipped:
        print(f"  跳过未填写的行:{where}")
    return 0


def cmd_history(ctx) -> int:
    from responsibilities.figures.service import figure_history

    versions = figure_history(ctx.sessions, ref=ctx.args.id)
    if not versions:
        print(f"{ctx.args.id}:尚无数据")
        return 0
    zone = ctx.zone
    for report, values in versions:
        kind = "报送" if report.kind == "submission" else "更正"
        figures = ",".join(f"{k} {v:,}" for k, v in values.items())
        print(f"第 {report.version} 版 {kind} {report.submitted_at.astimezone(zone):%Y-%m-%d %H:%M} "
              f"{report.submitted_by}({report.source}):{figures}" + (f"「{report.note}」" if report.note else ""))
    return 0


def register(cli: Commands) -> None:
    command = cli.command
    actions = cli.group("figures", "monthly figures (月报) and progress against the targets", "figures_action")
    submit = command("submit", cmd_submit, "hand in (or correct) one region's figures for one month", actions)
    submit.add_argument("region", help="a region that owes monthly reports, e.g. guiping or city-level")
    submit.add_argument("month", type=_month, help="the month reported on, YYYY-MM")
    submit.add_argument("values", nargs="+", metavar="FIELD=N",
                        help="person-times by field id or name, e.g. total=1200 enterprise-workers=700")
    submit.add_argument("--note", help="a free note with the figures")
    submit.add_argument("--reason", help="why an accepted report is corrected (required then)")

    progress = command("progress", cmd_progress, "every region against its targets (序时进度)", actions)
    progress.add_argument("--year", type=bounded_int(1900, 2100, "年份"),
                          help="the plan year (default: the year of --as-of)")
    progress.add_argument("--json", action="store_true", help="print JSON")

    template = command("template", cmd_template, "write the blank XLSX form for a month", actions)
    template.add_argument("--month", type=_month, required=True, help="YYYY-MM")
    template.add_argument("--region", action="append",
                          help="only this region (repeat for more; default: one row per region)")
    template.add_argument("--out", metavar="PATH",
                          help="file or folder (default: var/figures/figures-<month>-<region|all>.xlsx)")

    imp = command("import", cmd_import, "read filled XLSX forms back; any error imports nothing", actions)
    imp.add_argument("file")
    imp.add_argument("--reason", help="why accepted reports are corrected, when the file corrects any")

    history = command("history", cmd_history, "every version of one monthly report's figures", actions)
    history.add_argument("id", help="e.g. monthly-report.guiping@2020-03")
