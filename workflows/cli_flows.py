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
        raise SystemExit(f"duban: 没有名为“{name}”的流程;可运行的流程:{'、'.join(FLOW_NAMES)}")
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
    """The web application (uvicorn, in the main thread) and the embedded scheduler (a thread) together."""
    import sys

    from sqlalchemy import select

    from responsibilities.model import PlanRecord

    if ctx.args.demo:
        _load_demo(ctx)
    with ctx.sessions() as session:
        plan = session.scalars(select(PlanRecord)).first()
    if plan is None:
        raise SystemExit("duban: 尚未载入工作方案:请先运行 `duban load deadlines.yaml`(或 `duban serve --demo`)")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # finish the current job, then exit cleanly
    scheduler = None
    if not ctx.args.no_scheduler and ctx.args.as_of is None:
        scheduler = _scheduler(ctx, plan)
    elif ctx.args.as_of is not None and not ctx.args.scheduler_only:
        print(f"duban serve: 网页显示截至 {ctx.args.as_of} 的情况;定时任务只按真实时钟运行,所以这次不启动定时任务",
              file=sys.stderr, flush=True)
    if ctx.args.scheduler_only:
        if scheduler is None:
            raise SystemExit("duban serve: --scheduler-only 按真实时钟运行定时任务,不能与 --as-of 同用:请去掉 --as-of")
        try:
            scheduler.run(stop)
        except KeyboardInterrupt:
            pass
        print("duban serve: stopped", flush=True)
        return 0
    server = _web_server(ctx)

    def terminate(*_) -> None:  # noqa: ANN002 - a signal handler's arguments
        stop.set()
        server.should_exit = True  # also when SIGTERM comes before uvicorn has installed its own handlers

    signal.signal(signal.SIGTERM, terminate)
    thread = None
    if scheduler is not None:
        thread = threading.Thread(target=scheduler.run, args=(stop,), name="duban-scheduler", daemon=True)
        thread.start()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()  # the scheduler finishes its running job and gives up its lease
        if thread is not None:
            thread.join()
    print("duban serve: stopped", flush=True)
    return 0


def _scheduler(ctx, plan):  # noqa: ANN001, ANN202
    from workflows.scheduler import RUNNER_VARIABLE, EmbeddedScheduler

    os.environ[RUNNER_VARIABLE] = "direct" if ctx.args.direct else "prefect"
    if not ctx.args.direct:
        from workflows.flows import configure_prefect

        configure_prefect(ctx.settings)
    return EmbeddedScheduler(ctx.engine, dict(plan.settings["schedules"]), ZoneInfo(plan.time_zone),
                             lease_ttl=timedelta(seconds=ctx.args.lease_seconds),
                             log=lambda line: print(f"duban serve: {line}", flush=True))


def _web_server(ctx):  # noqa: ANN001, ANN202 - a uvicorn.Server
    import sys

    import uvicorn

    from responsibilities.accounts import has_web_accounts
    from workflows.settings import resolve_now
    from workflows.web.app import create_app

    as_of, zone = ctx.args.as_of, ctx.settings.time_zone
    app = create_app(ctx.settings, now=(lambda: resolve_now(as_of, zone)) if as_of else None)
    if not has_web_accounts(ctx.sessions):
        print("duban serve: 还没有可以登录网页的账号:请用 `duban users add NAME --role office` "
              "(或 --role unit --unit UNIT、--role leader)添加,添加时会要求设定密码", file=sys.stderr, flush=True)
    print(f"duban serve: 网页地址 http://{ctx.args.host}:{ctx.args.port}/(接口:/api,接口说明:/api/docs)",
          file=sys.stderr, flush=True)
    # proxy_headers: behind a reverse proxy on this machine, X-Forwarded-Proto https makes cookies Secure.
    config = uvicorn.Config(app, host=ctx.args.host, port=ctx.args.port, proxy_headers=True, lifespan="off",
                            access_log=False, log_level="info", server_header=False)
    return uvicorn.Server(config)


def _load_demo(ctx) -> None:  # noqa: ANN001
    """Load the sample plan, and give the office, a leader and every unit an account with a fresh random password."""
    import os
    import secrets
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import select

    from responsibilities.accounts import set_password
    from responsibilities.migrate import upgrade
    from responsibilities.model import UnitRecord, User
    from responsibilities.plan_sync import sync_plan
    from responsibilities.services import add_user
    from workflows.cli import load_plan_or_report

    plan = load_plan_or_report(ctx.settings.plan_file)
    if plan is None:
        raise SystemExit(1)
    upgrade(ctx.engine)
    sync_plan(ctx.sessions, plan, now=ctx.now, actor="system")
    with ctx.sessions() as session:
        units = list(session.scalars(select(UnitRecord.id).where(UnitRecord.retired.is_(False)).order_by(UnitRecord.id)))
        existing = {u.name: u for u in session.scalars(select(User))}
    accounts = [("office", "office"), ("leader", "leader")] + [(unit, f"unit:{unit}") for unit in units]
    for name, role in accounts:
        if name not in existing:
            add_user(ctx.sessions, name=name, role=role, now=ctx.now)

    def new_password(name: str) -> str:
        password = secrets.token_urlsafe(12)
        set_password(ctx.sessions, name=name, password=password, now=ctx.now)
        return password

    # Argon2 takes ~0.1 s a hash on purpose, and releases the GIL: the ~40 accounts are hashed side by side.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        passwords = list(pool.map(new_password, [name for name, _ in accounts]))
    print("演示账号(密码只显示这一次;再次运行 --demo 会重新生成):")
    for (name, role), password in zip(accounts, passwords):
        print(f"  {name:<24} {role:<28} {password}", flush=True)


def add_flow_commands(command, commands) -> None:  # noqa: ANN001 - cli_track's helpers
    flow = commands.add_parser("flow", help="run one scheduled flow now")
    flow_commands = flow.add_subparsers(dest="flow_command", required=True, metavar="ACTION")
    run = command("run", cmd_flow_run, "run a flow: " + ", ".join(FLOW_NAMES), flow_commands)
    run.add_argument("name", metavar="NAME")
    run.add_argument("--direct", action="store_true", help="call the job without Prefect's engine")
    serve = command("serve", cmd_serve, "run the web application and the embedded scheduler (one per database)")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="the port to listen on (default: 8000; 0: any free one)")
    serve.add_argument("--demo", action="store_true",
                       help="load the sample plan, create one account per unit, the office and a leader, print passwords")
    serve.add_argument("--scheduler-only", action="store_true", help="run only the embedded scheduler, no web pages")
    serve.add_argument("--no-scheduler", action="store_true", help="run only the web pages (another process schedules)")
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
