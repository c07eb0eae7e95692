"""`duban plan check|export` and `duban deadline parse`: the plan file and its deadline phrases, no database; and
`duban plan add|list|close`: the plans a database holds."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path

from workflows.cli.context import Commands, Context, bounded_int

DEFAULT_PLAN = "deadlines.yaml"


def _plan_path(value: str | None) -> Path:
    return Path(value or os.environ.get("DUBAN_PLAN") or DEFAULT_PLAN)


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f'"{value}" is not a date; write it as YYYY-MM-DD') from None


def _print_json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def load_plan_or_report(path: Path):
    """The plan, or None after printing every problem to stderr."""
    from responsibilities.plan.loader import PlanInvalid, load_plan

    try:
        return load_plan(path)
    except PlanInvalid as invalid:
        for problem in invalid.problems:
            print(problem, file=sys.stderr)
        count = len(invalid.problems)
        print(f"{path}: {count} problem{'s' if count != 1 else ''}; nothing was loaded", file=sys.stderr)
        return None


def cmd_plan_check(args: argparse.Namespace) -> int:
    from responsibilities.plan.export import plan_summary, render_summary

    plan = load_plan_or_report(_plan_path(args.file))
    if plan is None:
        return 1
    summary = plan_summary(plan)
    if args.json:
        _print_json(summary)
    else:
        print(render_summary(summary))
    return 0


def cmd_plan_export(args: argparse.Namespace) -> int:
    from responsibilities.plan.export import plan_to_json

    plan = load_plan_or_report(_plan_path(args.file))
    if plan is None:
        return 1
    _print_json(plan_to_json(plan))
    return 0


def cmd_deadline_parse(args: argparse.Namespace) -> int:
    from responsibilities.deadlines.phrases import DeadlinePhraseError, parse_deadline
    from responsibilities.deadlines.rules import first_due, rule_to_json

    # --year alone asks for the first due date within that year; otherwise count from --from (today).
    on_or_after = args.from_date or (date(args.year, 1, 1) if args.year else date.today())
    year = args.year or on_or_after.year
    try:
        rule = parse_deadline(args.text, year=year)
    except DeadlinePhraseError as exc:
        print(f"duban deadline parse: {exc}", file=sys.stderr)
        return 1
    due = first_due(rule, on_or_after=on_or_after)
    if due is not None and args.year and not args.from_date and due.year != args.year:
        due = None
    data = {"kind": rule.kind, "first_due": due.isoformat() if due else None, "text": rule.text}
    data |= {k: v for k, v in rule_to_json(rule).items() if k not in data}
    if args.json:
        _print_json(data)
    else:
        for key, value in data.items():
            print(f"{key}: {json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else value}")
    return 0


def cmd_plan_add(ctx: Context) -> int:
    from responsibilities.storage.migrate import upgrade
    from responsibilities.tracking.plans import add_plan

    plan = load_plan_or_report(Path(ctx.args.file))
    if plan is None:
        return 1
    upgrade(ctx.engine)
    report = add_plan(ctx.sessions, plan, now=ctx.now, actor=ctx.args.as_user)
    counts = report.as_dict()
    print(f"已新增方案 {plan.id}({plan.display_name}):任务 {sum(counts.get('obligations', {}).values())} 项,"
          f"应交事项 {sum(counts.get('deliverables', {}).values())} 项")
    return 0


def cmd_plan_import(ctx: Context) -> int:
    """Read a document's division-of-labour table into a draft plan file, and say what was read and what to check."""
    from responsibilities.importing.service import import_document
    from responsibilities.importing.tables import too_large
    from responsibilities.importing.units import Directory
    from responsibilities.reading.directory import office_directory
    from responsibilities.storage.files import write_atomically
    from responsibilities.storage.migrate import current_revision

    a = ctx.args
    path = Path(a.document)
    try:
        refused = too_large(path.name, path.stat().st_size)
        if refused:
            raise refused
        data = path.read_bytes()
    except FileNotFoundError:
        raise SystemExit(f"duban plan import: 没有文件 {path}") from None
    except (IsADirectoryError, PermissionError) as error:
        raise SystemExit(f"duban plan import: 无法读取 {path}:{error.strerror}") from None
    # Before any plan is loaded there is no directory: every unit of the document is then proposed as new.
    directory = office_directory(ctx.sessions) if current_revision(ctx.engine) is not None else Directory()
    imported = import_document(data, path.name, directory, year=a.year, plan_id=a.plan_id)
    out = Path(a.out) if a.out else Path(f"{imported.plan_id}.draft.yaml")
    write_atomically(out, imported.draft.encode("utf-8"))
    report = imported.report()
    if a.json:
        _print_json({**report, "draft": str(out)})
        return 0
    _print_import_report(imported, report, out)
    return 0


def _print_import_report(imported, report: dict, out: Path) -> None:  # an importing.service.Imported
    from responsibilities.vocabulary import DEADLINE_KIND_NAMES

    totals = report["totals"]
    kinds = "、".join(f"{DEADLINE_KIND_NAMES.get(k, '未写或未读懂时限')} {n}" for k, n in totals["kinds"].items())
    print(f"已读取 {report['file']}({report['format']}):{'、'.join(report['tables'])}")
    print(f"  任务 {totals['obligations']} 项({kinds})")
    print(f"  单位 {totals['units_known']} 个已对应,{totals['units_unknown']} 个不在单位目录中,"
          f"{totals['units_ambiguous']} 个有歧义")
    for note in report["notes"]:
        print(f"  注意:{note}")
    if report["flags"]:
        print(f"  待核对 {totals['flags']} 处:")
        for f in imported.reading.flags:
            print(f"    {f.where}:{f.message}")
    print(f"方案草稿:{out}(标有“待核对”的行核对后,`duban plan check {out}`,再 `duban plan add {out}`)")


def cmd_plan_list(ctx: Context) -> int:
    from responsibilities.reading.plans import plan_list
    from responsibilities.vocabulary import PLAN_KIND_NAMES

    rows = plan_list(ctx.sessions, today=ctx.today)
    if ctx.args.json:
        _print_json([r.as_json() for r in rows])
        return 0
    if not rows:
        print("尚未载入任何工作方案:`duban plan add 文件` 或 `duban load 文件`")
    for r in rows:
        state = f"已于 {r.closed_on} 结束" if r.closed_on else "进行中"
        lights = r.lights
        print(f"{r.id}  {r.short_name}({PLAN_KIND_NAMES.get(r.kind, r.kind)},{state})  {r.start}—{r.end}  "
              f"任务 {r.obligations}  事项 {r.deliverables}  红 {lights['red']} 黄 {lights['yellow']} "
              f"绿 {lights['green']} 灰 {lights['grey']}")
    return 0


def cmd_plan_close(ctx: Context) -> int:
    from responsibilities.tracking.plans import close_plan

    record = close_plan(ctx.sessions, plan_id=ctx.args.plan_id, now=ctx.now, actor=ctx.args.as_user)
    print(f"方案 {record.id}({record.short_name})已结束:不再发送其通知,其事项仍在历史和报告中")
    return 0


def register(cli: Commands) -> None:
    plan = cli.top.add_parser("plan", help="check and export the work plan (deadlines.yaml)")
    plan_commands = plan.add_subparsers(dest="plan_command", required=True, metavar="ACTION")
    check = plan_commands.add_parser("check", help="validate the plan; print every problem, or a summary")
    check.add_argument("file", nargs="?", help=f"plan file (default: $DUBAN_PLAN or {DEFAULT_PLAN})")
    check.add_argument("--json", action="store_true", help="print the summary as JSON")
    check.set_defaults(handler=cmd_plan_check)
    export = plan_commands.add_parser("export", help="print the normalised plan")
    export.add_argument("file", nargs="?", help=f"plan file (default: $DUBAN_PLAN or {DEFAULT_PLAN})")
    export.add_argument("--json", action="store_true", required=True, help="as JSON (the only format)")
    export.set_defaults(handler=cmd_plan_export)
    add = cli.command("add", cmd_plan_add, "load a plan file as a new plan (refused if its id is taken)",
                      plan_commands)
    add.add_argument("file", help="the plan file")
    imports = cli.command("import", cmd_plan_import, "read a document's division-of-labour table (DOCX, XLSX, "
                          "HTML, PDF or text) into a draft plan file, flagging what a person must check",
                          plan_commands)
    imports.add_argument("document", metavar="DOCUMENT", help="the document (its format is told by its content)")
    imports.add_argument("--year", type=bounded_int(1990, 2100, "年份"),
                         help="the year for deadlines without one (default: the document's date or title)")
    imports.add_argument("--plan-id", metavar="ID", help="the new plan's id (default: imported-<year>)")
    imports.add_argument("--out", metavar="DRAFT.yaml", help="where to write the draft (default: <plan id>.draft.yaml)")
    imports.add_argument("--json", action="store_true",
                         help='print {"obligations", "units", "flags", "totals", "draft"} as JSON')
    listing = cli.command("list", cmd_plan_list, "every plan with its counts and lights", plan_commands)
    listing.add_argument("--json", action="store_true", help="one object per plan")
    close = cli.command("close", cmd_plan_close, "end a finished plan: no more notices", plan_commands)
    close.add_argument("plan_id", metavar="ID")

    deadline = cli.top.add_parser("deadline", help="read Chinese deadline phrases")
    deadline_commands = deadline.add_subparsers(dest="deadline_command", required=True, metavar="ACTION")
    parse = deadline_commands.add_parser("parse", help="turn a deadline text into a rule")
    parse.add_argument("text", help="the deadline text, e.g. 2019年10月31日前 or 次月5日前")
    parse.add_argument("--year", type=bounded_int(1900, 2100, "年份"),
                       help="the year for texts without one; first_due is then within it (1900 to 2100)")
    parse.add_argument("--from", dest="from_date", type=_iso_date, metavar="DATE",
                       help="first_due is the first due date on or after DATE (default: today)")
    parse.add_argument("--json", action="store_true", help="print JSON")
    parse.set_defaults(handler=cmd_deadline_parse)
