"""Reading YAML with its positions, so that every problem names file:line:column and the field.

PyYAML's composer gives a node tree that remembers where each value stands; this module reads that
tree field by field, collects problems instead of stopping at the first, and returns plain Python
values (or None where a value was unusable, so that reading goes on and all problems are reported).
"""

from __future__ import annotations

import codecs
import difflib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Iterable

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
TIMESTAMP = "tag:yaml.org,2002:timestamp"
NULL = "tag:yaml.org,2002:null"

# A draft written by `duban plan import` marks each line a person must review with this comment; a file that still
# has one is refused, each named, so that an unreviewed draft never becomes a plan.
REVIEW_MARK = "# 待核对:"

_constructor = SafeConstructor()
# libyaml's composer is several times faster and keeps the same marks; the pure-Python one is the fallback.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file, where it stands and in which field."""

    file: str
    line: int  # 1-based
    column: int  # 1-based
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class PlanInvalid(Exception):
    """The plan file has problems; all of them are in ``problems``, in file order."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(set(problems), key=lambda p: (p.line, p.column, p.field, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """' (did you mean "x"?)' for the closest candidate, or '' when nothing is close."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f'; did you mean "{close[0]}"?' if close else ""


def value_node(node: Node | None, key: str) -> Node | None:
    """The value node of ``key`` in a mapping node, or None: to point a problem at one field."""
    if isinstance(node, MappingNode):
        for key_node, value in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == key:
                return value
    return None


def _line_column(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of a character (or byte) offset into ``text``."""
    before = text[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


def kind_of(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return {
        STR: "text",
        INT: "a whole number",
        FLOAT: "a decimal number",
        TIMESTAMP: "a date",
        NULL: "nothing (null)",
        "tag:yaml.org,2002:bool": "true/false",
    }.get(node.tag, "a value")


class Reader:
    """Reads typed values out of a composed YAML tree, collecting problems as it goes."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def error(self, node: Node | None, field: str, message: str) -> None:
        line, column = (node.start_mark.line + 1, node.start_mark.column + 1) if node else (1, 1)
        self.problems.append(Problem(self.file, line, column, field, message))

    # ── containers ────────────────────────────────────────────────────────────────────────────

    def mapping(
        self, node: Node | None, field: str, required: Iterable[str], optional: Iterable[str] = ()
    ) -> dict[str, Node] | None:
        """The mapping's values by key; unknown, duplicate and missing keys are problems."""
        if not isinstance(node, MappingNode):
            self.error(node, field, f"expected a mapping, found {kind_of(node) if node else 'nothing'}")
            return None
        required, optional = list(required), list(optional)
        allowed = required + optional
        out: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                self.error(key_node, field, "keys must be plain names")
                continue
            key_field = f"{field}.{key}" if field else key
            if key in out:
                self.error(key_node, key_field, "appears twice in the same mapping")
                continue
            if key not in allowed:
                hint = did_you_mean(key, allowed) or " (allowed: " + ", ".join(allowed) + ")"
                self.error(key_node, key_field, f"unknown key{hint}")
                continue
            out[key] = value_node
        for key in required:
            if key not in out:
                self.error(node, field, f'missing required key "{key}"')
        return out

    @staticmethod
    def items(node: Node | None) -> list[Node]:
        """The item nodes of a list, or [] for anything else, reporting nothing (``sequence`` did)."""
        return list(node.value) if isinstance(node, SequenceNode) else []

    def sequence(self, node: Node | None, field: str, *, non_empty: bool = False) -> list[Node]:
        if node is None:
            return []
        if not isinstance(node, SequenceNode):
            self.error(node, field, f"expected a list, found {kind_of(node)}")
            return []
        if non_empty and not node.value:
            self.error(node, field, "must list at least one entry")
        return list(node.value)

    # ── scalars ───────────────────────────────────────────────────────────────────────────────

    def _scalar(self, node: Node | None, field: str, tags: tuple[str, ...], expected: str) -> ScalarNode | None:
        if node is None:
            return None
        if not isinstance(node, ScalarNode) or node.tag not in tags:
            self.error(node, field, f"expected {expected}, found {kind_of(node)}")
            return None
        return node

    def text(self, node: Node | None, field: str, *, required: bool = True,
             max_length: int | None = None) -> str | None:
        """Non-empty text, of at most ``max_length`` characters (an id the database keeps in a column of that size).
        A number or date where text is expected is a problem: quote it."""
        if node is None or (not required and isinstance(node, ScalarNode) and node.tag == NULL):
            return None
        scalar = self._scalar(node, field, (STR,), "text")
        if scalar is None:
            return None
        if not scalar.value.strip():
            self.error(node, field, "must not be empty")
            return None
        if max_length is not None and len(scalar.value) > max_length:
            self.error(node, field, f"is {len(scalar.value)} characters long; at most {max_length} are kept")
            return None
        return scalar.value

    def integer(self, node: Node | None, field: str, *, minimum: int | None = None) -> int | None:
        scalar = self._scalar(node, field, (INT,), "a whole number")
        if scalar is None:
            return None
        value = _constructor.construct_yaml_int(scalar)
        if minimum is not None and value < minimum:
            self.error(node, field, f"must be at least {minimum}, found {value}")
            return None
        return value

    def number(self, node: Node | None, field: str) -> float | None:
        scalar = self._scalar(node, field, (INT, FLOAT), "a number")
        if scalar is None:
            return None
        if scalar.tag == INT:
            return float(_constructor.construct_yaml_int(scalar))
        return _constructor.construct_yaml_float(scalar)

    def date(self, node: Node | None, field: str) -> date | None:
        """A calendar date written as YYYY-MM-DD (unquoted)."""
        if node is None:
            return None
        if isinstance(node, ScalarNode) and node.tag == STR:
            self.error(node, field, f'expected a date as YYYY-MM-DD, found "{node.value}"')
            return None
        scalar = self._scalar(node, field, (TIMESTAMP,), "a date as YYYY-MM-DD")
        if scalar is None:
            return None
        try:
            value = _constructor.construct_yaml_timestamp(scalar)
        except (ValueError, ConstructorError) as exc:
            self.error(node, field, f'"{scalar.value}" is not a real date ({exc})')
            return None
        if not isinstance(value, date) or hasattr(value, "hour"):
            self.error(node, field, f'expected a date without a time, found "{scalar.value}"')
            return None
        return value

    def texts(self, node: Node | None, field: str) -> tuple[str, ...]:
        items = (self.text(n, f"{field}[{i}]") for i, n in enumerate(self.sequence(node, field)))
        return tuple(t for t in items if t is not None)

    def dates(self, node: Node | None, field: str) -> tuple[date, ...]:
        items = (self.date(n, f"{field}[{i}]") for i, n in enumerate(self.sequence(node, field)))
        return tuple(d for d in items if d is not None)

    def choice(self, node: Node | None, field: str, allowed: Iterable[str]) -> str | None:
        value = self.text(node, field)
        allowed = list(allowed)
        if value is not None and value not in allowed:
            self.error(node, field, f'"{value}" is not one of: {", ".join(allowed)}{did_you_mean(value, allowed)}')
            return None
        return value


def compose_file(path: Path) -> tuple[Node | None, Reader]:
    """The file's node tree (None when unusable) and a reader holding any problem found so far.

    A missing, empty, binary or syntactically broken file is a problem, not an exception.
    """
    reader = Reader(str(path))
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        reader.error(None, "", "file not found")
        return None, reader
    except IsADirectoryError:
        reader.error(None, "", "is a directory, not a plan file")
        return None, reader
    except OSError as exc:
        reader.error(None, "", f"cannot read the file: {exc.strerror}")
        return None, reader
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        reader.error(None, "", "is UTF-16 text; save it as UTF-8")
        return None, reader
    if b"\x00" in raw:
        reader.error(None, "", "is a binary file, not a YAML plan")
        return None, reader
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # Lines and columns count characters; the undecodable tail counts one per byte.
        good = raw[: exc.start].decode("utf-8-sig", errors="replace")
        line, column = _line_column(good, len(good))
        reader.problems.append(Problem(str(path), line, column, "", f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} "
                                       "cannot be read; GBK or another encoding?): save it as UTF-8"))
        return None, reader
    return compose_text(text, reader)


def compose_text(text: str, reader: Reader) -> tuple[Node | None, Reader]:
    """``compose_file`` for a plan already in hand as text (a draft kept in the database); ``reader`` names it."""
    path = reader.file
    try:
        node = yaml.compose(text, Loader=SAFE_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark, context = exc.problem_mark or exc.context_mark, exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(filter(None, [exc.context, exc.problem])) or "not valid YAML"
        if context and mark and (context.line, context.column) != (mark.line, mark.column):
            # Where the construct began (an unclosed "{" or quote) is often where the mistake is.
            what += f" (started at line {context.line + 1}, column {context.column + 1})"
        if "\t" in (text.splitlines()[line - 1 : line] or [""])[0]:
            what += "; YAML indents with spaces, never tabs"
        reader.problems.append(Problem(str(path), line, column, "", f"YAML syntax error: {what}"))
        return None, reader
    except yaml.reader.ReaderError as exc:
        line, column = _line_column(text, exc.position)
        reader.problems.append(Problem(str(path), line, column, "", f"character #x{exc.character:04x} is not allowed "
                                       "in YAML (a control character: delete it)"))
        return None, reader
    except yaml.YAMLError as exc:
        reader.error(None, "", f"YAML error: {exc}")
        return None, reader
    if node is None:
        reader.error(None, "", "the file is empty: a plan needs at least plan, units and obligations")
    for number, line in enumerate(text.splitlines(), 1):
        column = line.find(REVIEW_MARK)
        if column >= 0:
            reader.problems.append(Problem(str(path), number, column + 1, "", "not reviewed yet (a draft from `duban "
                                           f"plan import`): {line[column + len(REVIEW_MARK):].strip()}"))
    return node, reader
