"""The shared state and helpers of the plan file's section readers.

``SectionReader`` holds what has been read so far (units, groups, events, every name and alias) so that
each section checks its references as it is read, and the helpers that point every problem at its own
line. ``PlanReader`` (plan.py) combines it with the numbers and settings readers.
"""

from __future__ import annotations

from datetime import date
from typing import Callable, Iterable, TypeVar

from yaml.nodes import Node, ScalarNode

from responsibilities.plan.model import Event, Group, Unit
from responsibilities.plan.yaml_reader import STR, Reader, did_you_mean, value_node

T = TypeVar("T")


class SectionReader:
    def __init__(self, reader: Reader):
        self.r = reader
        self.units: dict[str, Unit] = {}
        self.groups: dict[str, Group] = {}
        self.events: dict[str, Event] = {}
        self.names: dict[str, str] = {}  # every name and alias → unit or group id
        self.start = date.min
        self.end = date.max
        # Obligations name target ids before the targets section is read; checked at its end.
        self.pending_target_refs: list[tuple[Node | None, str, tuple[str, ...]]] = []
        self.target_nodes: dict[str, Node] = {}
        # Ids declared by entries that had problems of their own, by kind (unit, event, obligation,
        # target): references to them are not reported again as unknown, so one mistake is one problem.
        self.unusable: dict[str, set[str]] = {"unit": set(), "event": set(), "obligation": set(), "target": set()}

    # ── helpers ──────────────────────────────────────────────────────────────────────────────

    def each(self, node: Node | None, field: str, read: Callable[[Node, str], T | None], *,
             non_empty: bool = False) -> list[T]:
        """The readable entries of a list; ``non_empty`` makes an empty list a problem."""
        return [item for item, _, _ in self.each_located(node, field, read, non_empty=non_empty)]

    def each_located(self, node: Node | None, field: str, read: Callable[[Node, str], T | None], *,
                     non_empty: bool = False) -> list[tuple[T, Node, str]]:
        """Like ``each``, keeping each item's node and field, so later checks point at the right line."""
        nodes = self.r.sequence(node, field, non_empty=non_empty)
        located = ((read(n, f"{field}[{i}]"), n, f"{field}[{i}]") for i, n in enumerate(nodes))
        return [(item, n, f) for item, n, f in located if item is not None]

    @staticmethod
    def named(node: Node, field: str, table: str) -> str:
        """``table[id]`` when the entry states a plain id, else ``field``: so that problems found before
        the id is read (unknown or repeated keys) still say which entry they are in."""
        peek = value_node(node, "id")
        ok = isinstance(peek, ScalarNode) and peek.tag == STR and peek.value.strip()
        return f"{table}[{peek.value}]" if ok else field

    def unique(self, located: Iterable[tuple[T, Node, str]], key: Callable[[T], str]) -> None:
        """A problem at every repeat of an id, pointing at the repeat."""
        seen: set[str] = set()
        for item, node, field in located:
            if key(item) in seen:
                self.r.error(value_node(node, "id") or node, f"{field}.id", f'id "{key(item)}" is used twice')
            seen.add(key(item))

    def ref(self, node: Node | None, field: str, table: dict, what: str) -> str | None:
        """A reference by id to an entry of ``table``: unknown ids get a did-you-mean."""
        value = self.r.text(node, field)
        if value is None:
            return None
        if value not in table and value in self.unusable["event" if what == "event" else "unit"]:
            return None
        if value not in table:
            candidates = list(table) + list(self.names) if what in ("unit", "unit or group") else list(table)
            hint = did_you_mean(value, candidates)
            by_name = self.names.get(value)
            if by_name:
                hint = f'; "{value}" is a name: use its id "{by_name}"'
            self.r.error(node, field, f'unknown {what} "{value}"{hint}')
            return None
        return value

    def unit_ref(self, node: Node | None, field: str) -> str | None:
        return self.ref(node, field, self.units, "unit")

    def unit_refs(self, node: Node | None, field: str) -> tuple[str, ...]:
        return tuple(filter(None, (self.unit_ref(n, f"{field}[{i}]")
                                   for i, n in enumerate(self.r.sequence(node, field)))))

    def in_plan(self, node: Node | None, field: str, value: date | None) -> date | None:
        if value is not None and not (self.start <= value <= self.end):
            self.r.error(node, field, f"{value} is outside the plan ({self.start} to {self.end})")
        return value

    def claim_names(self, owner: str, names: Iterable[tuple[str, Node | None, str]]) -> None:
        """Record names and aliases; one name must never mean two units."""
        for name, node, field in names:
            if name in self.names and self.names[name] != owner:
                self.r.error(node, field, f'"{name}" already names "{self.names[name]}"')
            self.names.setdefault(name, owner)
