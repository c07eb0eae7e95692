"""What every command group shares: the ``Context`` a handler gets, the argument types, and ``Commands``, where a
group registers its commands (``register(commands)`` in each module of this package)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from workflows.settings import Settings, resolve_now


class Context:
    """What a handler needs, created on demand: settings, the engine, sessions, the evidence store."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.settings = Settings.from_environment()

    @cached_property
    def now(self):
        try:
            return resolve_now(getattr(self.args, "as_of", None), self.settings.time_zone)
        except ValueError as error:
            raise SystemExit(f"duban: {error}") from None

    @cached_property
    def engine(self):
        from responsibilities.storage.db import make_engine

        return make_engine(self.settings.database_url)

    @cached_property
    def sessions(self):
        from responsibilities.storage.db import make_session_factory
        from responsibilities.storage.migrate import require_current

        require_current(self.engine)
        return make_session_factory(self.engine)

    @cached_property
    def evidence_store(self):
        from responsibilities.tracking.evidence import EvidenceStore

        return EvidenceStore(self.settings.evidence_dir)

    @property
    def actor(self) -> str:
        if not self.args.as_user:
            raise SystemExit("duban: 请用 --as USER 说明由谁办理(`duban users list` 可列出已有用户)")
        return self.args.as_user


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
        parser.set_defaults(handler=lambda args: handler(Context(args)))
        return parser

    def group(self, name: str, help: str, dest: str, metavar: str = "ACTION") -> argparse._SubParsersAction:  # noqa: A002
        return self.top.add_parser(name, help=help).add_subparsers(dest=dest, required=True, metavar=metavar)
