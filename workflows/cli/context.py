"""What every command group shares: the ``Context`` a handler gets, the argument types, and ``Commands``, where a
group registers its commands (``register(commands)`` in each module of this package)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from zoneinfo import ZoneInfo

from workflows.runtime import Runtime


class Context:
    """What a handler needs: its arguments and the runtime (settings, the clock, the database), made on demand
    and closed when the command ends. ``now`` is read once: a command acts at one moment."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.runtime = Runtime(as_of=getattr(args, "as_of", None))
        self.settings = self.runtime.settings

    @cached_property
    def now(self) -> datetime:
        try:
            return self.runtime.now()
        except ValueError as error:
            raise SystemExit(f"duban: {error}") from None

    @property
    def today(self) -> date:
        return self.runtime.today(self.now)

    @property
    def zone(self) -> ZoneInfo:
        return self.runtime.zone

    @property
    def engine(self):
        return self.runtime.engine

    @property
    def sessions(self):
        return self.runtime.sessions

    @property
    def evidence_store(self):
        return self.runtime.evidence

    @property
    def actor(self) -> str:
        if not self.args.as_user:
            raise SystemExit("duban: 请用 --as USER 说明由谁办理(`duban users list` 可列出已有用户)")
        return self.args.as_user

    @property
    def ref(self) -> str | None:
        """The deliverable or obligation the command names: its id, qualified by ``--plan`` when given."""
        from responsibilities.tracking.access import qualify

        ref = getattr(self.args, "id", None)
        return qualify(ref, getattr(self.args, "plan", None)) if ref else ref

    def close(self) -> None:
        self.runtime.close()


def bounded_int(low: int, high: int, what: str) -> Callable[[str], int]:
    """An argument type: an integer from ``low`` to ``high``, or argparse's one-line refusal (exit 2). Every integer
    option has one: a port of -1 or 70000, a year of -5, a lease of 10**20 seconds are refused here, not deep inside
    the socket, the calendar or the database."""
    def parse(value: str) -> int:
        try:
            number = int(value.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"“{value}”不是整数;{what}应为 {low} 至 {high} 之间的整数") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{number} 超出范围;{what}应为 {low} 至 {high} 之间的整数")
        return number

    parse.__name__ = what  # argparse names the type in its message when the function raises something else
    return parse


port = bounded_int(0, 65535, "端口号")  # 0: any free port


def parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{value}”不是日期,请写成 YYYY-MM-DD,例如 2019-11-15") from None


@dataclass
class Commands:
    """Where a group registers its commands: ``command`` adds one that takes ``--as`` and ``--as-of`` and calls its
    handler with a ``Context``; ``group`` adds a word that only gathers actions (`duban users add`)."""

    top: argparse._SubParsersAction
    common: argparse.ArgumentParser  # --as, --as-of

    def command(self, name: str, handler: Callable[[Context], int], help: str,  # noqa: A002 - argparse's word
                parent: argparse._SubParsersAction | None = None) -> argparse.ArgumentParser:
        parser = (parent or self.top).add_parser(name, help=help, parents=[self.common])
        parser.set_defaults(handler=lambda args: _run(handler, Context(args)))
        return parser

    def group(self, name: str, help: str, dest: str, metavar: str = "ACTION") -> argparse._SubParsersAction:  # noqa: A002
        return self.top.add_parser(name, help=help).add_subparsers(dest=dest, required=True, metavar=metavar)


def _run(handler: Callable[[Context], int], ctx: Context) -> int:
    try:
        return handler(ctx)
    finally:
        ctx.close()
