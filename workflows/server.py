"""The process behind `duban serve`: the web application (uvicorn, in the main thread) and the embedded scheduler (a
thread) together.

It starts from any working directory: the folders it writes to are made, or it refuses to start with one line
naming the one it cannot use. It stops promptly: SIGTERM or Ctrl-C stops the web server (open requests get a
few seconds) and the scheduler at the same time (a running delivery is cancelled, another job gets a few seconds),
and whatever still hangs after STOP_DEADLINE_S is abandoned by exiting the process: the database rolls back what
was not committed, and the outbox makes a resend harmless.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import sys
import threading
from dataclasses import dataclass
from datetime import timedelta

import uvicorn

from responsibilities.storage.plans import loaded_plan
from workflows.paths import check_folders
from workflows.schedule.scheduler import through_prefect

STOP_DEADLINE_S = 9.0  # after SIGTERM, the process is gone within this, whatever it was doing
WEB_GRACE_S = 3  # open requests get this long to finish once the server stops accepting new ones


def log(line: str) -> None:
    print(f"duban serve: {line}", flush=True)


class Shutdown:
    """Asked for by SIGTERM, Ctrl-C or the web server's own signal handling; the first ask starts a deadline."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._deadline: threading.Timer | None = None

    def request(self, *_: object) -> None:  # also a signal handler: (signum, frame)
        self.stop.set()
        if self._deadline is None:
            self._deadline = threading.Timer(STOP_DEADLINE_S, self._give_up)
            self._deadline.daemon = True
            self._deadline.start()

    @staticmethod
    def _give_up() -> None:
        log(f"未能在 {STOP_DEADLINE_S:g} 秒内正常停止:放弃仍在进行的工作并退出(未提交的改动不会写入)")
        exit_now()


def exit_now() -> None:
    """Leave at once, without waiting for threads that hang (a job on a server that never answers)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@dataclass(frozen=True)
class Checked:
    """The settings `duban serve` runs with, each found usable before any work."""

    forwarded_allow_ips: list[str]
    prefect: bool


def check_settings(ctx) -> Checked:  # a workflows.cli.context.Context
    """Each unusable setting is one line and exit 1: the proxy list, the folders, the SMTP URL."""
    allowed = forwarded_allow_ips(ctx.args.forwarded_allow_ips)
    prefect = through_prefect() and not ctx.args.direct
    check_folders(ctx.settings, prefect=prefect)
    _check_smtp_url(ctx.settings)
    return Checked(allowed, prefect)


def serve(ctx, checked: Checked) -> int:  # a workflows.cli.context.Context
    allowed, prefect = checked.forwarded_allow_ips, checked.prefect
    with ctx.sessions() as session:
        plan = loaded_plan(session)
    if plan is None:
        raise SystemExit("duban: 尚未载入工作方案:请先运行 `duban load deadlines.yaml`(或 `duban serve --demo`)")
    shutdown = Shutdown()
    signal.signal(signal.SIGTERM, shutdown.request)
    scheduler = None
    if not ctx.args.no_scheduler and ctx.args.as_of is None:
        scheduler = _scheduler(ctx, plan, prefect=prefect)
    elif ctx.args.as_of is not None and not ctx.args.scheduler_only:
        print(f"duban serve: 网页显示截至 {ctx.args.as_of} 的情况;定时任务只按真实时钟运行,所以这次不启动定时任务",
              file=sys.stderr, flush=True)
    if ctx.args.scheduler_only:
        if scheduler is None:
            raise SystemExit("duban serve: --scheduler-only 按真实时钟运行定时任务,不能与 --as-of 同用:请去掉 --as-of")
        return _serve_scheduler_only(scheduler, shutdown)
    server = _web_server(ctx, allowed, shutdown)
    thread = None
    if scheduler is not None:
        thread = threading.Thread(target=scheduler.run, args=(shutdown.stop,), name="duban-scheduler", daemon=True)
        thread.start()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        shutdown.request()  # the scheduler stops too (it may have already: SIGTERM reached both at once)
        if thread is not None:
            thread.join(timeout=STOP_DEADLINE_S)
    return _stopped()


def _serve_scheduler_only(scheduler, shutdown: Shutdown) -> int:  # an EmbeddedScheduler
    signal.signal(signal.SIGINT, shutdown.request)
    scheduler.run(shutdown.stop)
    return _stopped()


def _stopped() -> int:
    from workflows.schedule.scheduler import job_running

    log("stopped")
    if job_running():  # abandoned: its thread would hold up the interpreter's exit
        exit_now()
    return 0


def _scheduler(ctx, plan, *, prefect: bool):  # an EmbeddedScheduler
    from workflows.schedule.scheduler import EmbeddedScheduler, run_directly, run_through_prefect

    if prefect:
        from workflows.schedule.flows import configure_prefect

        configure_prefect(ctx.settings)
    return EmbeddedScheduler(ctx.engine, dict(plan.schedules), plan.time_zone,
                             lease_ttl=timedelta(seconds=ctx.args.lease_seconds), log=log,
                             runner=run_through_prefect if prefect else run_directly)


def _check_smtp_url(settings) -> None:  # a Settings
    """A DUBAN_SMTP_URL that cannot be read is one line now, not a delivery job failing every minute."""
    from notifications.transports import SmtpSettings

    url = settings.smtp_url_with_sender()
    if url:
        try:
            SmtpSettings.from_url(url)
        except ValueError as error:
            raise SystemExit(f"duban serve: DUBAN_SMTP_URL 无法使用({error}):请按 README 的格式改正") from None


def forwarded_allow_ips(value: str | None) -> list[str]:
    """--forwarded-allow-ips (or DUBAN_FORWARDED_ALLOW_IPS): the proxies whose X-Forwarded-For and -Proto are
    believed. None by default: a header from anyone else is ignored, so nobody can pose as another address."""
    text = value if value is not None else os.environ.get("DUBAN_FORWARDED_ALLOW_IPS", "")
    allowed = [item.strip() for item in text.split(",") if item.strip()]
    for item in allowed:
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise SystemExit(f"duban serve: --forwarded-allow-ips 中的“{item}”不是 IP 地址或网段(例如 127.0.0.1 或 "
                             "10.0.0.0/8);多个用逗号分隔") from None
    return allowed


def _web_server(ctx, allowed: list[str], shutdown: Shutdown) -> _Server:
    from responsibilities.tracking.accounts import has_web_accounts
    from workflows.web.app import create_app

    app = create_app(runtime=ctx.runtime)  # its clock: the real time, or --as-of at the current time of day
    if not has_web_accounts(ctx.sessions):
        print("duban serve: 还没有可以登录网页的账号:请用 `duban users add NAME --role office` "
              "(或 --role unit --unit UNIT、--role leader)添加,添加时会要求设定密码", file=sys.stderr, flush=True)
    print(f"duban serve: 网页地址 http://{ctx.args.host}:{ctx.args.port}/(接口:/api,接口说明:/api/docs,"
          "运行状况:/healthz)", file=sys.stderr, flush=True)
    # Behind a reverse proxy, X-Forwarded-For gives throttling the real client and X-Forwarded-Proto https makes
    # cookies Secure: believed only from the proxies named in --forwarded-allow-ips.
    config = uvicorn.Config(app, host=ctx.args.host, port=ctx.args.port, proxy_headers=bool(allowed),
                            forwarded_allow_ips=allowed or None, lifespan="off", access_log=False, log_level="info",
                            server_header=False, timeout_graceful_shutdown=WEB_GRACE_S)
    return _Server(config, shutdown)


class _Server(uvicorn.Server):
    """uvicorn's server, whose signal handling also stops the scheduler: at once, not after the web has stopped."""

    def __init__(self, config: uvicorn.Config, shutdown: Shutdown) -> None:
        super().__init__(config)
        self.stopping = shutdown  # not "shutdown": uvicorn's own method of that name

    def handle_exit(self, sig: int, frame) -> None:
        self.stopping.request()
        super().handle_exit(sig, frame)
