"""`duban sweep`, `duban digest`, `duban deliver`, `duban notices`, `duban mail-sink`: the notice machinery at the
command line."""

from __future__ import annotations

import json
from pathlib import Path

from responsibilities.vocabulary import DIGEST_NAMES, NOTICE_KIND_NAMES
from workflows.cli.context import Commands, port


def cmd_sweep(ctx) -> int:  # a workflows.cli.context.Context
    if ctx.args.dry_run:
        return _dry_sweep(ctx)
    from workflows.runtime import fixed_clock
    from workflows.schedule.jobs import sweep

    ctx.runtime.clock = fixed_clock(ctx.now)
    written = sweep(runtime=ctx.runtime)  # the scheduled job's own step: the notices, then the day's lights
    if not written["working_day"]:
        print(f"{ctx.today} 不是工作日:不发通知,下一个工作日补发")
        return 0
    print(f"{ctx.today} 扫描完成:新写入 "
          + "、".join(f"{NOTICE_KIND_NAMES[k]} {n}" for k, n in written.items() if k in NOTICE_KIND_NAMES))
    return 0


def _dry_sweep(ctx) -> int:
    from responsibilities.notices.sweep import sweep

    report = sweep(ctx.sessions, now=ctx.now, today=ctx.today, dry_run=True)
    if not report.working_day:
        print(f"{ctx.today} 不是工作日:不发通知,下一个工作日补发")
        return 0
    for row in report.would_write:
        print(f"{row['dedupe_key']:<40} {row['kind']:<10} {row['audience']:<16} {row['unit_id'] or ''}")
    print(f"(试运行:将写入 {len(report.would_write)} 条通知,实际未写入)")
    return 0


def cmd_digest(ctx) -> int:
    from responsibilities.notices.digests import is_working_day, write_digests
    from responsibilities.reports.bulletin import queue_monthly_bulletin
    from responsibilities.reports.periods import previous_month

    today = ctx.today
    if not is_working_day(ctx.sessions, today):
        print(f"{today} 不是工作日:不写摘要")
        return 0
    written = write_digests(ctx.sessions, now=ctx.now, today=today)
    print(f"{today} 摘要:新写入 " + "、".join(f"{DIGEST_NAMES[k]} {n}" for k, n in written.items())
          + "(本期已写过的和无内容的不再写入)")
    if queue_monthly_bulletin(ctx.sessions, now=ctx.now, today=today):  # what the digests job does too
        print(f"{today} 已写入{previous_month(today).label}督查通报,发送领导小组和办公室")
    return 0


def cmd_deliver(ctx) -> int:
    from workflows.runtime import Runtime, fixed_clock
    from workflows.schedule.jobs import deliver

    report = deliver(runtime=Runtime(ctx.settings, clock=fixed_clock(ctx.now)))
    where = "SMTP" if ctx.settings.smtp_url else str(ctx.settings.mail_dir)
    print(f"投递完成({where}):发出 {report['sent']},待重试 {report['retrying']},失败 {report['failed']}"
          + (f",被拒收件人 {report['refused_recipients']}" if report["refused_recipients"] else "")
          + (f",暂缓收件人 {report['deferred_recipients']}" if report["deferred_recipients"] else ""))
    if report["server_unreachable"]:
        retry = report["retry_server_at"]
        print(f"邮件服务器无法连接({report['server_error']}):未发出的通知留在队列中,不计失败次数;"
              + (f"{_local(retry, ctx)} 后再试" if retry else "稍后再试"))
        return 1
    return 0


def _local(moment, ctx) -> str:  # an ISO datetime, or an aware datetime
    from datetime import datetime

    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(ctx.zone).strftime("%Y-%m-%d %H:%M:%S")


def cmd_notices(ctx) -> int:
    from responsibilities.reading.queries import notices

    if getattr(ctx.args, "notices_action", None) == "retry":
        return cmd_notices_retry(ctx)
    status = next((s for s in ("pending", "sending", "failed") if getattr(ctx.args, s)), None)
    rows = notices(ctx.sessions, status=status, unit=ctx.args.unit, viewer=ctx.args.as_user)
    if ctx.args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1, default=str))
        return 0
    for row in rows:
        print(f"{row['id']:>6} {row['dedupe_key']:<40} {row['status']:<8} {row['owed_on']}  {row['unit_id'] or '':<18}"
              + _notice_detail(row, ctx))
    print(f"(共 {len(rows)} 条)")
    return 0


def _notice_detail(row: dict, ctx) -> str:
    from datetime import datetime

    from notifications.delivery import CLAIM_LEASE

    if row["status"] == "sending" and row["claimed_at"]:
        lapses = datetime.fromisoformat(row["claimed_at"]) + CLAIM_LEASE
        return f"  由 {row['claimed_by']} 认领,若不续期则于 {_local(lapses, ctx)} 失效"
    refused = "".join(f"  拒收 {address}:{reply}" for address, reply in (row["refused"] or {}).items())
    return (f"  {row['last_error']}" if row["last_error"] else "") + refused


def cmd_notices_retry(ctx) -> int:
    from responsibilities.tracking.services import retry_notices

    keys = retry_notices(ctx.sessions, actor=ctx.actor, now=ctx.now, ids=ctx.args.ids,
                         every_failed=ctx.args.retry_failed)
    print(f"已重新排队 {len(keys)} 条通知,下次投递时发出" + ("" if keys else "(没有发送失败的通知)"))
    return 0


def cmd_mail_sink(ctx) -> int:
    from notifications.sink import run_sink

    run_sink(Path(ctx.args.folder), port=ctx.args.port)
    return 0


def register(cli: Commands) -> None:
    command = cli.command
    sweep = command("sweep", cmd_sweep, "write the reminders, chases and escalations owed today")
    sweep.add_argument("--dry-run", action="store_true", help="print what would be written; write nothing")
    command("digest", cmd_digest, "write the digests owed today: the units' and leaders' weekly, the office's daily")
    command("deliver", cmd_deliver, "send pending notices (SMTP, or the mail folder)")
    listing = command("notices", cmd_notices, "list notices; `notices retry` sends failed ones again")
    which = listing.add_mutually_exclusive_group()
    which.add_argument("--pending", action="store_true", help="waiting to be sent (or to be retried)")
    which.add_argument("--sending", action="store_true", help="claimed by a deliverer: who, and when its claim lapses")
    which.add_argument("--failed", action="store_true",
                       help="failed, or sent with some recipients refused for good, with the server's reply")
    listing.add_argument("--unit")
    listing.add_argument("--json", action="store_true")
    actions = listing.add_subparsers(dest="notices_action", metavar="ACTION")
    retry = command("retry", cmd_notices, "send failed notices again (the office): IDs, or --failed for all", actions)
    retry.add_argument("ids", nargs="*", type=int, metavar="ID", help="the notices' numbers (`duban notices --failed`)")
    retry.add_argument("--failed", dest="retry_failed", action="store_true", help="every failed notice")
    sink = command("mail-sink", cmd_mail_sink, "run a local SMTP server on 127.0.0.1 that keeps what it receives")
    sink.add_argument("--port", type=port, default=2525)
    sink.add_argument("--folder", default="var/mail-sink")
