"""`duban assign`: the office assigns an item by hand (交办事项); it joins the year's standing plan."""

from __future__ import annotations

from workflows.cli.context import Commands, Context


def cmd_assign(ctx: Context) -> int:
    from responsibilities.tracking.items import ItemRequest, assign_item

    if not ctx.args.as_user:
        raise SystemExit("duban assign: 交办须以办公室用户的身份进行,请加 --as 用户名(未作任何更改)")
    request = ItemRequest(lead=ctx.args.lead, task=ctx.args.task, deadline=ctx.args.deadline,
                          co_units=tuple(ctx.args.co_unit or ()), source=ctx.args.source, repeat=ctx.args.repeat)
    assigned = assign_item(ctx.sessions, request, actor=ctx.args.as_user, now=ctx.now)
    print(assigned.qualified)
    print(f"已交办:{assigned.reading.describe()}", flush=True)
    return 0


def register(cli: Commands) -> None:
    assign = cli.command("assign", cmd_assign, "the office assigns an item by hand (交办事项); prints its reference")
    assign.add_argument("--lead", required=True, metavar="UNIT", help="the lead unit: its id, name or short name")
    assign.add_argument("--task", required=True, metavar="TEXT", help="what is to be done")
    assign.add_argument("--deadline", required=True, metavar="PHRASE",
                        help="the deadline as a Chinese phrase: 2020年3月底前, 6月30日前, 每月5日前")
    assign.add_argument("--co-unit", action="append", metavar="UNIT", help="a cooperating unit; repeat for more")
    assign.add_argument("--source", metavar="TEXT", help="where it comes from: a leader's instruction, a meeting's "
                        "minutes, a letter (with its number)")
    assign.add_argument("--repeat", choices=("monthly", "quarterly"), help="repeat the deadline every month or quarter")
