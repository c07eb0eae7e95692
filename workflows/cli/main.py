"""The `duban` command. A thin entrypoint: parse arguments, call responsibilities, print, exit.

The only place that reads the real clock (for defaults); every such default has a flag to override it.
Each group of commands lives in a module of this package and registers itself here; heavy modules are imported
inside the command that needs them, so `duban --help` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from workflows.cli import figures, flows, items, notices, plan, reports, serve, simulate, tracking
from workflows.cli.context import Commands

GROUPS = (tracking, items, notices, reports, flows, serve, simulate, figures, plan)  # the order --help lists them in


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="duban", description="Supervision (督办) tracker for government work plans.")
    parser.add_argument("--version", action="version", version="duban 0.1.0")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # Who acts and what "today" is: accepted by every command that reads or changes tracked work.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--as", dest="as_user", metavar="USER", help="the user who acts (see `duban users list`)")
    common.add_argument("--as-of", metavar="DATE",
                        help='what "now" is: YYYY-MM-DD or an ISO datetime (default: the clock)')
    cli = Commands(commands, common)
    for group in GROUPS:
        group.register(cli)
    return parser


def undecodable_argument(argv: Sequence[str]) -> str | None:
    """The first argument that is not UTF-8 text: Python keeps its bytes as lone surrogates (`duban note x
    $'\\xff'`), which no database, file name or terminal takes. None when every argument is text."""
    for number, argument in enumerate(argv, 1):
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            try:
                shown = argument.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")  # \xff
            except UnicodeEncodeError:  # a surrogate no byte became (main called with such a string)
                shown = argument.encode("utf-8", "backslashreplace").decode("ascii")
            return (f"第 {number} 个参数“{shown}”"
                    "不是有效的 UTF-8 文字:请检查终端或脚本的编码(如 LANG=zh_CN.UTF-8),未作任何更改")
    return None


def main(argv: Sequence[str] | None = None) -> int:
    from workflows.failures import known_failure

    argv = sys.argv[1:] if argv is None else list(argv)
    undecodable = undecodable_argument(argv)
    if undecodable is not None:
        print(f"duban: {undecodable}", file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except Exception as error:  # every refusal is a message and exit 1, never a traceback
        message = known_failure(error)
        if message is None:
            raise
        print(f"duban: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
