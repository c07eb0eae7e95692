"""`duban flow run NAME` (one job, now or as of a date) and `duban deploy` (the jobs as Prefect deployments)."""

from __future__ import annotations

import json
import os

from workflows.cli.context import Commands

FLOWS = ("sweep", "deliver", "digests", "year_end")


def cmd_flow_run(ctx) -> int:  # a cli_track.Context
    from workflows.failures import known_failure
    from workflows.schedule.jobs import JobFailed
    from workflows.schedule.scheduler import through_prefect

    name = ctx.args.name
    if name not in FLOWS:
        raise SystemExit(f"duban: 没有名为“{name}”的流程;可运行的流程:{'、'.join(FLOWS)}")
    ctx.sessions  # noqa: B018 - refuse an unmigrated database before starting anything
    try:
        if through_prefect() and not ctx.args.direct:
            from workflows.schedule.flows import run_flow

            counts = run_flow(name, ctx.args.as_of)
        else:
            from workflows.schedule.jobs import run_job

            counts = run_job(name, ctx.args.as_of)
    except JobFailed as failed:
        if known_failure(failed.__cause__) is None:
            raise  # a bug: its traceback is what helps
        raise SystemExit(f"duban flow run: 流程运行失败({failed})") from None
    print(json.dumps({"flow": name, **counts}, ensure_ascii=False, default=str))
    return 0


def register(cli: Commands) -> None:
    flow_commands = cli.group("flow", "run one scheduled flow now", "flow_command")
    run = cli.command("run", cmd_flow_run, "run a flow: " + ", ".join(FLOWS) + " (through Prefect's engine "
                      "when PREFECT_API_URL is set)", flow_commands)
    run.add_argument("name", metavar="NAME")
    run.add_argument("--direct", action="store_true", help="call the job directly even when PREFECT_API_URL is set")
    deploy = cli.command("deploy", cmd_deploy,
                         "deploy the flows to a Prefect server (scale-out; Prefect owns the schedules)")
    deploy.add_argument("--work-pool", default="duban", help="the process work pool (created if missing)")


def cmd_deploy(ctx) -> int:
    from responsibilities.storage.plans import loaded_plan

    if not os.environ.get("PREFECT_API_URL"):
        raise SystemExit("duban deploy: 请把 PREFECT_API_URL 设为 Prefect 服务器的地址,例如先运行 "
                         "`prefect server start --host 127.0.0.1`,再设 PREFECT_API_URL=http://127.0.0.1:4200/api")
    with ctx.sessions() as session:
        plan = loaded_plan(session)
    if plan is None:
        raise SystemExit("duban: 尚未载入工作方案:请先运行 `duban load deadlines.yaml`")
    from workflows.schedule.deploy import deploy_flows

    zone = plan.time_zone.key
    deployed = deploy_flows(dict(plan.schedules), zone, work_pool=ctx.args.work_pool)
    for name, deployment_id in deployed.items():
        print(f"deployed {name}: {plan.schedules[name]} ({zone}) → {deployment_id}")
    print(f"start a worker: prefect worker start --pool {ctx.args.work_pool}   (and do not run `duban serve` as well)")
    return 0
