"""`duban simulate`: the command around workflows.replay.simulate: arguments, a progress bar, the summary in Chinese."""

from __future__ import annotations

import sys
import time as clock
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from responsibilities.vocabulary import ACTION_NAMES, NOTICE_KIND_NAMES, STATE_NAMES
from workflows.cli.context import Commands, parse_date
from workflows.replay.simulate import NOTICE_KINDS, Options, SimulationError, Tally, simulate


def _in_order(counts: dict[str, int], names: dict[str, str]) -> list[tuple[str, int]]:
    """Counts in the order ``names`` lists them (the order of the work), any others after."""
    order = {key: i for i, key in enumerate(names)}
    return sorted(counts.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))


def render_summary(result: dict[str, Any]) -> str:
    """What happened, in Chinese, for a person."""
    notices = result["notices"]
    lines = [
        f"督办演练:{result['from']} 至 {result['to']},共 {result['days']} 天(随机种子 {result['seed']})",
        f"数据库:{result['database']}",
        f"应交事项 {result['deliverables']} 项:" + ",".join(
            f"{STATE_NAMES.get(k, k)} {v}" for k, v in _in_order(result["deliverable_states"], STATE_NAMES)),
        "单位与办公室的操作:" + (",".join(f"{ACTION_NAMES.get(k, k)} {v} 次" for k, v in
                                         _in_order(result["scenario"]["actions"], ACTION_NAMES)) or "无"),
        "通知:" + ",".join(f"{NOTICE_KIND_NAMES.get(k, k)} {v} 条" for k, v in notices.items())
        + f";共 {sum(notices.values())} 条",
        f"邮件:经 SMTP 投递 {result['delivered']} 封,收件服务器收到 {result['mail_sink']['received']} 封"
        + (f"(保存在 {result['mail_sink']['folder']})" if result["mail_sink"]["folder"] else ""),
    ]
    if result["reports"]:
        lines.append("年度总结:")
        for year, paths in result["reports"].items():
            lines.append(f"  {year}年:" + "、".join(paths[fmt] for fmt in ("html", "xlsx", "json") if fmt in paths))
    else:
        lines.append("年度总结:本次演练未到 12 月 31 日,未生成")
    for title, entries in (("按时办结率最高", result["best_units"]), ("按时办结率最低", result["worst_units"])):
        ranked = ";".join(f"第{e['rank']}名 {e['unit']} {e['on_time_rate'] * 100:.1f}%(逾期未办结 {e['overdue']} 项)"
                          for e in entries) or "无可排名单位"
        lines.append(f"{result['ranking_year']}年{title}的单位:{ranked}")
    if result["scenario"]["refused"]:
        lines.append(f"注意:演练中有 {result['scenario']['refused']} 次操作被系统拒绝")
    lines.append(f"用时 {result['elapsed_seconds']} 秒")
    return "\n".join(lines)


class ProgressBar:
    """One line on stderr, redrawn in place (\\r) at most ten times a second."""

    WIDTH = 30

    def __init__(self, out: TextIO = sys.stderr) -> None:
        self.out, self.shown_at, self.drawn = out, 0.0, False

    def __call__(self, tally: Tally, start: date, end: date) -> None:
        now = clock.monotonic()
        if tally.day != end and now - self.shown_at < 0.1:
            return
        self.shown_at = now
        share = tally.days / ((end - start).days + 1)
        filled = int(share * self.WIDTH)
        counts = " ".join(f"{NOTICE_KIND_NAMES[k]}{tally.notices[k]}" for k in NOTICE_KINDS)
        self.out.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {tally.day} {share * 100:3.0f}% "
                       f"{counts} 已投递{tally.delivered}\x1b[K")
        self.out.flush()
        self.drawn = True

    def finish(self) -> None:
        if self.drawn:
            self.out.write("\n")
            self.out.flush()


def cmd_simulate(ctx) -> int:  # a cli_track.Context
    import json

    args = ctx.args
    bar = ProgressBar() if not args.no_progress and sys.stderr.isatty() else None
    options = Options(start=args.from_date, end=args.to_date, seed=args.seed,
                      db=Path(args.db) if args.db else None, keep_mail=args.keep_mail,
                      plan_file=Path(args.plan) if args.plan else None)
    try:
        result = simulate(options, settings=ctx.settings, progress=bar)
    except SimulationError as error:
        print(f"duban simulate: {error}", file=sys.stderr)
        return 1
    finally:
        if bar:
            bar.finish()
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(render_summary(result))
    return 0


def _seed(value: str) -> int:
    import argparse

    try:
        seed = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{value}”不是整数") from None
    if seed < 0:
        raise argparse.ArgumentTypeError(f"{seed} 是负数;随机种子应为 0 或正整数")
    return seed


def register(cli: Commands) -> None:
    simulate_parser = cli.command("simulate", cmd_simulate,
                              "replay the plan day by day on a fresh database, with the units and the office played")
    simulate_parser.add_argument("--from", dest="from_date", type=parse_date, metavar="DATE",
                                 help="the first simulated day (default: the plan's first whole month, 2019-10-01)")
    simulate_parser.add_argument("--to", dest="to_date", type=parse_date, metavar="DATE",
                                 help="the last simulated day (default: the plan's end, 2021-12-31)")
    simulate_parser.add_argument("--seed", type=_seed, default=1, metavar="N",
                                 help="the scenario's random seed (default: 1): the same seed plays the same way")
    simulate_parser.add_argument("--db", metavar="PATH",
                                 help="the replay's SQLite file (default: var/simulate/duban-<seed>.sqlite3); "
                                      "replaced if a previous replay made it")
    simulate_parser.add_argument("--plan", metavar="FILE", help="the plan (default: $DUBAN_PLAN or deadlines.yaml)")
    simulate_parser.add_argument("--keep-mail", action="store_true",
                                 help="keep every message the sink receives, as .eml files under var/simulate/mail")
    simulate_parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    simulate_parser.add_argument("--json", action="store_true", help="print what happened as one JSON object")
