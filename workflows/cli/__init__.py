"""The `duban` command: one module per group of commands, each registered by ``main.build_parser``.

Thin entrypoints: parse arguments, build the runtime, call a use case, print; heavy modules are imported by
the command that needs them, so that `duban --help` stays fast.
"""
