"""`duban serve` (the embedded scheduler) and `duban flow run NAME` (one flow, now or as of a date)."""

from __future__ import annotations

import json
import os
import signal
import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

FLOW_NAMES = ("sweep", "deliver", "digests", "year_end")


def cmd_flow_run(ctx) -> int:  # noqa: ANN001 - a cli_track.Context
    name = ctx.args.name
    if name not in FLOW_NAMES:
        raise SystemExit(f'duban: unknown flow "{name}"; the flows are: {", ".join(FLOW_NAMES)}')
    ctx.sessions  # noqa: B018 - refuse an unmigrated database before starting any engine
    if ctx.args.direct:
        from workflows.jobs import run_job

        counts = run_job(name, ctx.args.as_of)
    else:
        from workflows.flows import run_flow

        counts = run_flow(name, ctx.args.as_of)
    print(json.dumps({"flow": name, **counts}, ensure_ascii=False, default=str))
    return 0


def cmd_serve(ctx) -> int:  # noqa: ANN001
    from sqlalchemy import select

    from responsibilities.model import PlanRecord
    from workflows.scheduler import RUNNER_VARIABLE, EmbeddedScheduler

    with ctx.sessions() as session:
        plan = session.scalars(select(PlanRecord)).first()
    if plan is None:
        raise SystemExit("duban: no plan is loaded: run `duban load deadlines.yaml` first")
    os.environ[RUNNER_VARIABLE] = "direct" if ctx.args.direct else "prefect"
    if not ctx.args.direct:
        from workflows.flows import configure_prefect

        configure_prefect(ctx.settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # finish the current job, then exit cleanly
    scheduler = EmbeddedScheduler(ctx.engine, dict(plan.settings["schedules"]), ZoneInfo(plan.time_zone),
                                  lease_ttl=timedelta(seconds=ctx.args.lease_seconds),
                                  log=lambda line: print(f"duban serve: {line}", flush=True))
    try:
        scheduler.run(stop)
    except KeyboardInterrupt:
        pass
    print("duban serve: stopped", flush=True)
    return 0


def add_flow_commands(command, commands) -> None:  # noqa: ANN001 - cli_track's helpers
    flow = commands.add_parser("flow", help="run one scheduled flow now")
    flow_commands = flow.add_subparsers(dest="flow_command", required=True, metavar="ACTION")
    run = command("run", cmd_flow_run, "run a flow: " + ", ".join(FLOW_NAMES), flow_commands)
    run.add_argument("name", metavar="NAME")
    run.add_argument("--direct", action="store_true", help="call the job without Prefect's engine")
    serve = command("serve", cmd_serve, "run the embedded scheduler (one per database)")
    serve.add_argument("--direct", action="store_true", help="run the jobs without Prefect's engine")
    serve.add_argument("--lease-seconds", type=int, default=60, help="how long the scheduler lease lasts unrenewed")

    from workflows.cli_simulate import add_simulate_command

    add_simulate_command(command)
    deploy = command("deploy", cmd_deploy, "deploy the flows to a Prefect server (scale-out; Prefect owns the schedules)")
    deploy.add_argument("--work-pool", default="duban", help="the process work pool (created if missing)")


def cmd_deploy(ctx) -> int:  # noqa: ANN001
    from sqlalchemy import select

    from responsibilities.model import PlanRecord

    if not os.environ.get("PREFECT_API_URL"):
        raise SystemExit("duban deploy: set PREFECT_API_URL to your Prefect server, e.g. "
                         "`prefect server start --host 127.0.0.1` then PREFECT_API_URL=http://127.0.0.1:4200/api")
    with ctx.sessions() as session:
        plan = session.scalars(select(PlanRecord)).first()
    if plan is None:
        raise SystemExit("duban: no plan is loaded: run `duban load deadlines.yaml` first")
    from workflows.deploy import deploy_flows

    deployed = deploy_flows(dict(plan.settings["schedules"]), plan.time_zone, work_pool=ctx.args.work_pool)
    for name, deployment_id in deployed.items():
        print(f"deployed {name}: {plan.settings['schedules'][name]} ({plan.time_zone}) → {deployment_id}")
    print(f"start a worker: prefect worker start --pool {ctx.args.work_pool}   (and do not run `duban serve` as well)")
    return 0
