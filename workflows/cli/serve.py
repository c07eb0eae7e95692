"""`duban serve`: the web application and the embedded scheduler (one per database), in one process.

Only the arguments live here: the process itself (uvicorn, the scheduler, prompt stops) is ``workflows.server``,
imported when the command runs, so that `duban --help` does not load the web stack.
"""

from __future__ import annotations

import os

from workflows.cli.context import Commands, Context, bounded_int, port
from workflows.cli.plan import load_plan_or_report


def cmd_serve(ctx: Context) -> int:
    from workflows.server import check_settings, serve

    checked = check_settings(ctx)  # settings first: each a line, before any work
    if ctx.args.demo:
        load_demo(ctx)
    return serve(ctx, checked)


def load_demo(ctx) -> None:
    """Load the sample plan, and give the office, a leader and every unit an account with a fresh random password."""
    import secrets
    from concurrent.futures import ThreadPoolExecutor

    from responsibilities.reading.queries import active_unit_ids
    from responsibilities.storage.migrate import upgrade
    from responsibilities.storage.plan_sync import sync_plan
    from responsibilities.tracking.accounts import accounts as existing_accounts
    from responsibilities.tracking.accounts import set_password
    from responsibilities.tracking.services import add_user

    plan = load_plan_or_report(ctx.settings.plan_file)
    if plan is None:
        raise SystemExit(1)
    upgrade(ctx.engine)
    sync_plan(ctx.sessions, plan, now=ctx.now, actor="system")
    existing = {account.name for account in existing_accounts(ctx.sessions)}
    units = active_unit_ids(ctx.sessions)
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
    for (name, role), password in zip(accounts, passwords, strict=True):
        print(f"  {name:<24} {role:<28} {password}", flush=True)


def register(cli: Commands) -> None:
    serve = cli.command("serve", cmd_serve, "run the web application and the embedded scheduler (one per database)")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=port, default=8000, help="the port to listen on (default: 8000; 0: any free one)")
    serve.add_argument("--demo", action="store_true",
                       help="load the sample plan, create one account per unit, the office and a leader, "
                            "print passwords")
    serve.add_argument("--scheduler-only", action="store_true", help="run only the embedded scheduler, no web pages")
    serve.add_argument("--no-scheduler", action="store_true", help="run only the web pages (another process schedules)")
    serve.add_argument("--direct", action="store_true",
                       help="run the jobs directly even when PREFECT_API_URL is set (without it, they always are)")
    serve.add_argument("--lease-seconds", type=bounded_int(1, 86400, "租约秒数"), default=60,
                       help="how long the scheduler lease lasts unrenewed (1 to 86400)")
    serve.add_argument("--forwarded-allow-ips", metavar="IPS",
                       help="comma-separated addresses or networks of the reverse proxies whose X-Forwarded-For and "
                            "X-Forwarded-Proto are believed (default: $DUBAN_FORWARDED_ALLOW_IPS, else none)")
