"""`duban serve`: the web application and the embedded scheduler (one per database), in one process.

Only the arguments live here: the process itself (uvicorn, the scheduler, prompt stops) is ``workflows.server``,
imported when the command runs, so that `duban --help` does not load the web stack.
"""

from __future__ import annotations

from workflows.cli.context import Commands, Context


def cmd_serve(ctx: Context) -> int:
    from workflows.server import serve

    return serve(ctx)


def register(cli: Commands) -> None:
    serve = cli.command("serve", cmd_serve, "run the web application and the embedded scheduler (one per database)")
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
