"""`duban` subcommands that work on the database: migrate, load, users, the supervision cycle, reading.

Each handler resolves settings and `now`, calls one service or query, and prints the result. Domain errors
become a one-line message and exit status 1 (see cli.main).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from responsibilities.vocabulary import CHANGE_NAMES, PLAN_PART_NAMES
from workflows.cli.context import Commands, Context, bounded_int, parse_date


def _print_change(change, verb: str) -> None:
    from responsibilities.vocabulary import STATE_NAMES

    due = f",截止 {change.due}" if change.due else ""
    print(f"{change.ref}:{verb} → {STATE_NAMES.get(change.state, change.state)}(版本 {change.version}{due})")


# ── database and plan ────────────────────────────────────────────────────────────────────────────


def cmd_db_upgrade(ctx: Context) -> int:
    from responsibilities.storage.migrate import upgrade

    before, after = upgrade(ctx.engine)
    print(f"数据库已是最新结构({after})" if before == after else f"数据库结构已升级:{before or '空'} → {after}")
    return 0


def cmd_load(ctx: Context) -> int:
    from responsibilities.storage.migrate import upgrade
    from responsibilities.storage.plan_sync import sync_plan
    from workflows.cli.plan import load_plan_or_report

    plan = load_plan_or_report(Path(ctx.args.file) if ctx.args.file else ctx.settings.plan_file)
    if plan is None:
        return 1
    upgrade(ctx.engine)  # loading is how a new database is set up: migrate first
    report = sync_plan(ctx.sessions, plan, now=ctx.now, actor=ctx.args.as_user or "system")
    if not report.changed:
        print(f"{plan.title}:数据库已与方案一致,无变化")
        return 0
    parts = [f"{PLAN_PART_NAMES.get(what, what)} "
             + "、".join(f"{CHANGE_NAMES.get(k, k)} {n}" for k, n in counts.items())
             for what, counts in report.as_dict().items()]
    print(f"已载入 {plan.title}:" + ";".join(parts))
    return 0


def _role(args: argparse.Namespace) -> str:
    """--role unit --unit hrss, or --role unit:hrss."""
    role = args.role
    if args.unit:
        if role not in ("unit", f"unit:{args.unit}"):
            raise SystemExit(f"duban users add: --unit 只能与 --role unit 同用,不能与 --role {role} 同用")
        return f"unit:{args.unit}"
    return role


def read_password(prompt: str, *, confirm: bool = True) -> str | None:
    """At a terminal: ask twice, without echo. Otherwise: the first line of standard input (None if empty)."""
    import getpass
    import sys

    if sys.stdin is None:
        return None
    if sys.stdin.isatty():
        password = getpass.getpass(prompt)
        if password and confirm and getpass.getpass("再输入一次:") != password:
            raise SystemExit("duban: 两次输入的密码不一致,未作任何更改;请重新运行并输入相同的密码")
        return password or None
    line = sys.stdin.readline().rstrip("\r\n")
    return line or None


def cmd_users_add(ctx: Context) -> int:
    from responsibilities.tracking.accounts import check_password_rules, set_password
    from responsibilities.tracking.services import add_user

    role = _role(ctx.args)
    password = read_password(f"{ctx.args.name} 的网页登录密码(直接回车:只用命令行,不设密码):")
    if password is not None:
        check_password_rules(password)  # before the user exists: a refused password adds nobody
    user = add_user(ctx.sessions, name=ctx.args.name, role=role, now=ctx.now)
    if password is not None:
        set_password(ctx.sessions, name=user.name, password=password, now=ctx.now)
    print(f"已添加用户 {user.name}({role})" + (",可登录网页" if password else ",未设密码(duban users passwd 可设)"))
    return 0


def cmd_users_passwd(ctx: Context) -> int:
    from responsibilities.tracking.accounts import set_password

    password = read_password(f"{ctx.args.name} 的新密码:")
    if password is None:
        raise SystemExit("duban users passwd: 没有输入密码,未作任何更改")
    set_password(ctx.sessions, name=ctx.args.name, password=password, now=ctx.now)
    print(f"已为 {ctx.args.name} 设定新密码;其原有的登录会话均已结束")
    return 0


def cmd_users_disable(ctx: Context) -> int:
    from responsibilities.tracking.accounts import disable_user

    disable_user(ctx.sessions, name=ctx.args.name, now=ctx.now)
    print(f"已停用用户 {ctx.args.name};其登录会话均已结束")
    return 0


def cmd_users_list(ctx: Context) -> int:
    from responsibilities.tracking.accounts import accounts

    for user in accounts(ctx.sessions):
        flags = "停用" if user.disabled else ("可登录网页" if user.web else "仅命令行")
        print(f"{user.name}\t{user.role}{':' + user.unit_id if user.unit_id else ''}\t{flags}")
    return 0


# ── the cycle ────────────────────────────────────────────────────────────────────────────────────


def cmd_submit(ctx: Context) -> int:
    from responsibilities.tracking.evidence import is_link
    from responsibilities.tracking.services import submit

    evidence = ctx.args.evidence or []
    change = submit(ctx.sessions, actor=ctx.actor, ref=ctx.ref, now=ctx.now, note=ctx.args.note,
                    files=[Path(e) for e in evidence if not is_link(e)], links=[e for e in evidence if is_link(e)],
                    evidence_store=ctx.evidence_store, expected_version=ctx.args.expect_version)
    _print_change(change, "已报送办结")
    return 0


def cmd_note(ctx: Context) -> int:
    from responsibilities.tracking.services import add_note

    _print_change(add_note(ctx.sessions, actor=ctx.actor, ref=ctx.ref, note=ctx.args.text, now=ctx.now),
                  "已添加进展")
    return 0


def cmd_accept(ctx: Context) -> int:
    from responsibilities.tracking.services import accept

    change = accept(ctx.sessions, actor=ctx.actor, ref=ctx.ref, now=ctx.now, note=ctx.args.note,
                    expected_version=ctx.args.expect_version)
    _print_change(change, "审核通过,已销号")
    return 0


def cmd_return(ctx: Context) -> int:
    from responsibilities.tracking.services import return_for_rework

    change = return_for_rework(ctx.sessions, actor=ctx.actor, ref=ctx.ref, reason=ctx.args.reason, now=ctx.now,
                               expected_version=ctx.args.expect_version)
    _print_change(change, "已退回")
    return 0


def cmd_waive(ctx: Context) -> int:
    from responsibilities.tracking.services import waive

    change = waive(ctx.sessions, actor=ctx.actor, ref=ctx.ref, reason=ctx.args.reason, now=ctx.now,
                   expected_version=ctx.args.expect_version)
    _print_change(change, "已免报")
    return 0


def cmd_extend(ctx: Context) -> int:
    from responsibilities.tracking.services import decide_extension, request_extension

    a = ctx.args
    if a.extend_action == "request":
        if a.to is None:
            raise SystemExit("duban extend request: 请用 --to YYYY-MM-DD 给出新的截止日期")
        change = request_extension(ctx.sessions, actor=ctx.actor, ref=a.id, new_due=a.to, reason=a.reason, now=ctx.now)
        _print_change(change, f"已申请延期至 {a.to}")
    else:
        change = decide_extension(ctx.sessions, actor=ctx.actor, ref=a.id, grant=a.extend_action == "grant",
                                  reason=a.reason, now=ctx.now)
        _print_change(change, "已批准延期" if a.extend_action == "grant" else "已驳回延期申请")
    return 0


def cmd_event_record(ctx: Context) -> int:
    from responsibilities.tracking.services import record_event

    refs = record_event(ctx.sessions, actor=ctx.actor, event_id=ctx.args.event, occurred_on=ctx.args.date, now=ctx.now)
    print(f"已记录事件 {ctx.args.event}({ctx.args.date});"
          + (f"新定期限:{'、'.join(refs)}" if refs else "无待定期限的任务"))
    return 0


def cmd_date_set(ctx: Context) -> int:
    from responsibilities.tracking.services import set_external_date

    ref = set_external_date(ctx.sessions, actor=ctx.actor, obligation_id=ctx.ref, due=ctx.args.date, now=ctx.now,
                            note=ctx.args.note)
    print(f"已设定期限:{ref} 截止 {ctx.args.date}")
    return 0


# ── reading ──────────────────────────────────────────────────────────────────────────────────────


def cmd_status(ctx: Context) -> int:
    from responsibilities.reading.queries import status
    from workflows.cli.render import render_status

    today = ctx.today
    rows = status(ctx.sessions, today=today, viewer=ctx.args.as_user, unit=ctx.args.unit)
    if ctx.args.json:
        print(json.dumps([r.as_json() for r in rows], ensure_ascii=False, indent=1))
    else:
        print(render_status(rows, today, show_all=ctx.args.all or ctx.args.unit is not None))
    return 0


def cmd_show(ctx: Context) -> int:
    from responsibilities.reading.queries import show
    from workflows.cli.render import render_deliverable

    print(render_deliverable(show(ctx.sessions, ref=ctx.ref, viewer=ctx.args.as_user), ctx.zone))
    return 0


def cmd_audit(ctx: Context) -> int:
    from responsibilities.reading.queries import audit_trail
    from workflows.cli.render import render_audit

    records = audit_trail(ctx.sessions, viewer=ctx.args.as_user, unit=ctx.args.unit, deliverable=ctx.ref,
                          limit=ctx.args.limit)
    print(render_audit(records, ctx.zone))
    return 0


def cmd_backup(ctx: Context) -> int:
    from responsibilities.storage.backup import backup

    result = backup(ctx.engine, Path(ctx.args.path))
    print(f"已备份到 {result.path}({result.size:,} 字节,完整性检查:{result.integrity})")
    return 0


def register(cli: Commands) -> None:
    _register_setup(cli)
    _register_cycle(cli)
    _register_reading(cli)


def _in_plan(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--plan``: the plan of the reference, when several plans have one with the same name (or write PLAN:REF)."""
    parser.add_argument("--plan", metavar="PLAN", help="the plan the id belongs to (see `duban plan list`)")
    return parser


def _versioned(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--expect-version", type=bounded_int(1, 2**31 - 1, "版本号"), metavar="N",
                        help="refuse if someone changed it since you saw version N (see `duban show`)")


def _register_setup(cli: Commands) -> None:
    """The database, the plan and the users."""
    command = cli.command
    db_commands = cli.group("db", "the database schema", "db_command")
    command("upgrade", cmd_db_upgrade, "create or migrate the schema", db_commands)

    load = command("load", cmd_load, "load or reload the plan into the database (migrates first)")
    load.add_argument("file", nargs="?", help="plan file (default: $DUBAN_PLAN or deadlines.yaml)")

    users_commands = cli.group("users", "who acts in duban", "users_command")
    add = command("add", cmd_users_add, "add a user; asks for a web password (stdin when not a terminal)",
                  users_commands)
    add.add_argument("name")
    add.add_argument("--role", required=True, help="office | leader | unit (with --unit) | unit:<unit id>")
    add.add_argument("--unit", help="the unit of a unit's user, e.g. hrss")
    command("list", cmd_users_list, "list users", users_commands)
    passwd = command("passwd", cmd_users_passwd, "set a user's web password (asked for, or read from stdin)",
                     users_commands)
    passwd.add_argument("name")
    disable = command("disable", cmd_users_disable, "stop a user signing in or acting; end their sessions",
                      users_commands)
    disable.add_argument("name")


def _register_cycle(cli: Commands) -> None:
    """The supervision cycle: hand in, review, extend, and the dates the office enters."""
    command, versioned = cli.command, _versioned
    submit = command("submit", cmd_submit, "the lead unit reports a deliverable done (办结), with evidence")
    submit.add_argument("id", help="deliverable id, e.g. hrss-4 or monthly-report.guiping@2019-11")
    _in_plan(submit)
    submit.add_argument("--note", help="what was done")
    submit.add_argument("--evidence", action="append", metavar="FILE|URL",
                        help="a file or an http(s) link; repeat for more")
    versioned(submit)

    note = command("note", cmd_note, "add a progress note (lead or co-unit)")
    note.add_argument("id")
    _in_plan(note)
    note.add_argument("text")

    accept = command("accept", cmd_accept, "the office accepts a submission (销号)")
    accept.add_argument("id")
    _in_plan(accept)
    accept.add_argument("--note")
    versioned(accept)

    for name, handler, help_text in (("return", cmd_return, "the office returns a submission (退回) with a reason"),
                                     ("waive", cmd_waive, "the office waives a deliverable with a reason")):
        parser = command(name, handler, help_text)
        parser.add_argument("id")
        _in_plan(parser)
        parser.add_argument("--reason", required=True)
        versioned(parser)

    extend_commands = cli.group("extend", "extensions (延期): request, grant, refuse", "extend_action")
    request = command("request", cmd_extend, "the lead unit asks for a later due date", extend_commands)
    request.add_argument("id")
    _in_plan(request)
    request.add_argument("--to", type=parse_date, metavar="DATE", help="the new due date")
    request.add_argument("--reason", required=True)
    for action in ("grant", "refuse"):
        decide = command(action, cmd_extend, f"the office {action}s the pending request", extend_commands)
        decide.add_argument("id")
        _in_plan(decide)
        decide.add_argument("--reason", required=action == "refuse")

    event_commands = cli.group("event", "outside events that after-event obligations wait for", "event_command")
    record = command("record", cmd_event_record, "record the date an event happened", event_commands)
    record.add_argument("event", help="event id from deadlines.yaml, e.g. region-supporting-documents")
    record.add_argument("date", type=parse_date)

    date_commands = cli.group("date", "dates set by outside bodies", "date_command")
    set_date = command("set", cmd_date_set, "enter a due date for an external or staged obligation", date_commands)
    set_date.add_argument("id", help="obligation id, e.g. hrss-9")
    _in_plan(set_date)
    set_date.add_argument("date", type=parse_date)
    set_date.add_argument("--note")


def _register_reading(cli: Commands) -> None:
    """Where things stand, the history, and a copy of the database."""
    command = cli.command
    status = command("status", cmd_status, "deliverables with traffic lights, counts per unit")
    status.add_argument("--unit", help="one unit's deliverables (all of them)")
    status.add_argument("--all", action="store_true", help="list green deliverables too")
    status.add_argument("--json", action="store_true", help="one object per deliverable")

    show = command("show", cmd_show, "one deliverable with its history")
    show.add_argument("id")
    _in_plan(show)

    audit = command("audit", cmd_audit, "the audit trail")
    audit.add_argument("--unit")
    audit.add_argument("--id", help="one deliverable's records")
    _in_plan(audit)
    audit.add_argument("--limit", type=bounded_int(1, 1_000_000, "条数"), help="only the newest N records")

    backup = command("backup", cmd_backup, "write an online, consistent copy of the database")
    backup.add_argument("path")
