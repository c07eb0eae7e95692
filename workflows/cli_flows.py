"""`duban flow run NAME` (one job, now or as of a date), `duban serve` (workflows/cli_serve.py) and `duban deploy`."""

from __future__ import annotations

import json
import os

FLOW_NAMES = ("sweep", "deliver", "digests", "year_end")


def cmd_flow_run(ctx) -> int:  # noqa: ANN001 - a cli_track.Context
    from workflows.failures import known_failure
    from workflows.jobs import JobFailed
    from workflows.scheduler import through_prefect

    name = ctx.args.name
    if name not in FLOW_NAMES:
        raise SystemExit(f"duban: 没有名为“{name}”的流程;可运行的流程:{'、'.join(FLOW_NAMES)}")
    ctx.sessions  # noqa: B018 - refuse an unmigrated database before starting anything
    try:
        if through_prefect() and not ctx.args.direct:
            from workflows.flows import run_flow

            counts = run_flow(name, ctx.args.as_of)
        else:
            from workflows.jobs import run_job

            counts = run_job(name, ctx.args.as_of)
    except JobFailed as failed:
        if known_failure(failed.__cause__) is None:
            raise  # a bug: its traceback is what helps
        raise SystemExit(f"duban flow run: 流程运行失败({failed})") from None
    print(json.dumps({"flow": name, **counts}, ensure_ascii=False, default=str))
    return 0


def cmd_serve(ctx) -> int:  # noqa: ANN001
    from workflows.cli_serve import serve  # the web stack loads only for this command

    return serve(ctx)


def add_flow_commands(command, commands) -> None:  # noqa: ANN001 - cli_track's helpers
    flow = commands.add_parser("flow", help="run one scheduled flow now")
    flow_commands = flow.add_subparsers(dest="flow_command", required=True, metavar="ACTION")
    run = command("run", cmd_flow_run, "run a flow: " + ", ".join(FLOW_NAMES) + " (through Prefect's engine when "
                  "PREFECT_API_URL is set)", flow_commands)
    run.add_argument("name", metavar="NAME")
    run.add_argument("--direct", action="store_true", help="call the job directly even when PREFECT_API_URL is set")
    serve = command("serve", cmd_serve, "run the web application and the embedded scheduler (one per database)")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="the port to listen on (default: 8000; 0: any free one)")
    serve.add_argument("--demo", action="store_true",
                       help="load the sample plan, create one account per unit, the office and a leader, print passwords")
    serve.add_argument("--scheduler-only", action="store_true", help="run only the embedded scheduler, no web pages")
    serve.add_argument("--no-scheduler", action="store_true", help="run only the web pages (another process schedules)")
    serve.add_argument("--direct", action="store_true",
                       help="run the jobs directly even when PREFECT_API_URL is set (without it, they always are)")
    serve.add_argument("--lease-seconds", type=int, default=60, help="how long the scheduler lease lasts unrenewed")
    serve.add_argument("--forwarded-allow-ips", metavar="IPS",
                       help="comma-separated addresses or networks of the reverse proxies whose X-Forwarded-For and "
                            "X-Forwarded-Proto are believed (default: $DUBAN_FORWARDED_ALLOW_IPS, else none)")

    from workflows.cli_simulate import add_simulate_command

    add_simulate_command(command)
    deploy = command("deploy", cmd_deploy, "deploy the flows to a Prefect server (scale-out; Prefect owns the schedules)")
    deploy.add_argument("--work-pool", default="duban", help="the process work pool (created if missing)")


def cmd_deploy(ctx) -> int:  # noqa: ANN001
    from sqlalchemy import select

    from responsibilities.model import PlanRecord

    if not os.environ.get("PREFECT_API_URL"):
        raise SystemExit("duban deploy: 请把 PREFECT_API_URL 设为 Prefect 服务器的地址,例如先运行 "
                         "`prefect server start --host 127.0.0.1`,再设 PREFECT_API_URL=http://127.0.0.1:4200/api")
    with ctx.sessions() as session:
        plan = session.scalars(select(PlanRecord)).first()
    if plan is None:
        raise SystemExit("duban: 尚未载入工作方案:请先运行 `duban load deadlines.yaml`")
    from workflows.deploy import deploy_flows

    deployed = deploy_flows(dict(plan.settings["schedules"]), plan.time_zone, work_pool=ctx.args.work_pool)
    for name, deployment_id in deployed.items():
        print(f"deployed {name}: {plan.settings['schedules'][name]} ({plan.time_zone}) → {deployment_id}")
    print(f"start a worker: prefect worker start --pool {ctx.args.work_pool}   (and do not run `duban serve` as well)")
    return 0
