"""A job for scheduler tests: records each firing in the file named by $DUBAN_PROBE_FILE."""

import os


def record(name: str) -> None:
    with open(os.environ["DUBAN_PROBE_FILE"], "a", encoding="utf-8") as out:
        out.write(name + "\n")
