"""Load and validate `deadlines.yaml` into a ``Plan``.

``load_plan(path)`` returns the plan or raises ``PlanInvalid`` carrying every problem found, each with
file:line:column and the field. Sections are read in dependency order (units before what refers to
them), so references are checked as they are read and one pass finds everything. Loading is pure: it
reads one file and writes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Callable, Iterable, TypeVar

from yaml.nodes import Node, ScalarNode, SequenceNode

from responsibilities.deadline_phrases import DeadlinePhraseError, parse_deadline
from responsibilities.deadline_rules import AfterEvent, DeadlineRule, Fixed, Periodic, Staged
from responsibilities.plan_model import (
    LADDER_RUNGS,
    UNIT_KINDS,
    EscalationStep,
    Supervision,
    Contact,
    Event,
    Group,
    LeadingGroup,
    Obligation,
    Office,
    Person,
    Phase,
    Plan,
    Source,
    Span,
    Unit,
)
from responsibilities.plan_numbers import NumbersReader
from responsibilities.working_days import YearOverride, WorkingCalendar
from responsibilities.yaml_reader import STR, PlanInvalid, Reader, compose_file, did_you_mean, value_node

T = TypeVar("T")

TOP_LEVEL = ("plan", "units", "groups", "leading_group", "events", "obligations", "targets", "reporting",
             "supervision", "calendar")


def load_plan(path: Path | str) -> Plan:
    """The validated plan in ``path``; raises PlanInvalid with every problem in the file."""
    path = Path(path)
    root, reader = compose_file(path)
    if root is None:
        raise PlanInvalid(reader.problems)
    plan = PlanReader(reader).read(root)
    if reader.problems or plan is None:
        raise PlanInvalid(reader.problems)
    return plan


class PlanReader(NumbersReader):
    """Reads the sections of the plan file, checking references against what was read before."""

    def __init__(self, reader: Reader):
        super().__init__(reader)
        self.units: dict[str, Unit] = {}
        self.groups: dict[str, Group] = {}
        self.events: dict[str, Event] = {}
        self.names: dict[str, str] = {}  # every name and alias → unit or group id
        self.start = date.min
        self.end = date.max

    # ── helpers ──────────────────────────────────────────────────────────────────────────────

    def each(self, node: Node | None, field: str, read: Callable[[Node, str], T | None]) -> list[T]:
        return [item for item, _, _ in self.each_located(node, field, read)]

    def each_located(self, node: Node | None, field: str,
                     read: Callable[[Node, str], T | None]) -> list[tuple[T, Node, str]]:
        """Like ``each``, keeping each item's node and field, so later checks point at the right line."""
        located = ((read(n, f"{field}[{i}]"), n, f"{field}[{i}]") for i, n in enumerate(self.r.sequence(node, field)))
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
        return tuple(filter(None, (self.unit_ref(n, f"{field}[{i}]") for i, n in enumerate(self.r.sequence(node, field)))))

    def in_plan(self, node: Node | None, field: str, value: date | None) -> date | None:
        if value is not None and not (self.start <= value <= self.end):
            self.r.error(node, field, f"{value} is outside the plan ({self.start} to {self.end})")
        return value

    # ── sections ─────────────────────────────────────────────────────────────────────────────

    def read(self, root: Node) -> Plan | None:
        top = self.r.mapping(root, "", required=TOP_LEVEL[:4] + ("obligations", "targets", "reporting", "supervision"),
                             optional=("events", "calendar"))
        if top is None:
            return None
        header = self.r.mapping(top.get("plan"), "plan", required=(
            "id", "title", "notice_title", "document_number", "issuer", "drafted_by", "addressees", "written_on",
            "published_on", "basis", "time_zone", "start", "end", "phases"))
        if header is None:
            return None
        self.start = self.r.date(header.get("start"), "plan.start") or date.min
        self.end = self.r.date(header.get("end"), "plan.end") or date.max
        if self.start > self.end:
            self.r.error(header.get("end"), "plan.end", f"the plan ends ({self.end}) before it starts ({self.start})")
        for unit in self.each(top.get("units"), "units", self.read_unit):
            self.units.setdefault(unit.id, unit)
        groups = self.each(top.get("groups"), "groups", self.read_group)
        self.groups = {g.id: g for g in groups}
        leading_group = self.read_leading_group(top.get("leading_group"), "leading_group")
        events = self.each(top.get("events"), "events", self.read_event)
        self.events = {e.id: e for e in events}
        obligations = self.read_obligations(top.get("obligations"), "obligations", leading_group)
        declared = {o.declared_id for o in obligations}
        targets = self.read_targets(top.get("targets"), "targets", self.units)
        reporting = self.read_reporting(top.get("reporting"), "reporting", declared, self.units)
        supervision = self.read_supervision(top.get("supervision"), "supervision")
        calendar_years = self.read_calendar(top.get("calendar"), "calendar")
        plan_fields = dict(
            id=self.r.text(header.get("id"), "plan.id"),
            title=self.r.text(header.get("title"), "plan.title"),
            notice_title=self.r.text(header.get("notice_title"), "plan.notice_title"),
            document_number=self.r.text(header.get("document_number"), "plan.document_number"),
            issuer=self.unit_ref(header.get("issuer"), "plan.issuer"),
            drafted_by=self.r.text(header.get("drafted_by"), "plan.drafted_by"),
            addressees=self.r.text(header.get("addressees"), "plan.addressees"),
            written_on=self.in_plan(header.get("written_on"), "plan.written_on", self.r.date(header.get("written_on"), "plan.written_on")),
            published_on=self.in_plan(header.get("published_on"), "plan.published_on", self.r.date(header.get("published_on"), "plan.published_on")),
            basis=self.r.texts(header.get("basis"), "plan.basis"),
            time_zone=self.read_time_zone(header.get("time_zone"), "plan.time_zone"),
            start=self.start,
            end=self.end,
            phases=tuple(self.each(header.get("phases"), "plan.phases", self.read_phase)),
        )
        if plan_fields["written_on"] and plan_fields["published_on"] and plan_fields["published_on"] < plan_fields["written_on"]:
            self.r.error(header.get("published_on"), "plan.published_on", "published before it was written")
        parts = (leading_group, targets, reporting, supervision, calendar_years)
        if self.r.problems or any(p is None for p in parts) or any(v is None for v in plan_fields.values()):
            return None
        return Plan(**plan_fields, units=tuple(self.units.values()), groups=tuple(groups),
                    leading_group=leading_group, events=tuple(events), obligations=tuple(obligations),
                    targets=targets, reporting=reporting, supervision=supervision, calendar_years=calendar_years)

    def read_time_zone(self, node: Node | None, field: str) -> str | None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # only here: zoneinfo is not needed elsewhere

        value = self.r.text(node, field)
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            self.r.error(node, field, f'unknown time zone "{value}" (e.g. Asia/Shanghai)')
            return None
        return value

    def read_phase(self, node: Node, field: str) -> Phase | None:
        m = self.r.mapping(node, field, required=("id", "name", "text", "spans"))
        if m is None:
            return None
        spans = self.each(m.get("spans"), f"{field}.spans", self.read_span)
        return Phase(self.r.text(m.get("id"), f"{field}.id"), self.r.text(m.get("name"), f"{field}.name"),
                     self.r.text(m.get("text"), f"{field}.text"), tuple(spans))

    def read_span(self, node: Node, field: str) -> Span | None:
        m = self.r.mapping(node, field, required=("start", "end"))
        if m is None:
            return None
        start = self.in_plan(m.get("start"), f"{field}.start", self.r.date(m.get("start"), f"{field}.start"))
        end = self.in_plan(m.get("end"), f"{field}.end", self.r.date(m.get("end"), f"{field}.end"))
        if start and end and end < start:
            self.r.error(m.get("end"), f"{field}.end", f"ends ({end}) before it starts ({start})")
        return Span(start, end) if start and end else None

    def claim_names(self, owner: str, names: Iterable[tuple[str, Node | None, str]]) -> None:
        """Record names and aliases; one name must never mean two units."""
        for name, node, field in names:
            if name in self.names and self.names[name] != owner:
                self.r.error(node, field, f'"{name}" already names "{self.names[name]}"')
            self.names.setdefault(name, owner)

    def read_unit(self, node: Node, field: str) -> Unit | None:
        field = self.named(node, field, "units")
        m = self.r.mapping(node, field, required=("id", "name", "kind"), optional=("aliases", "contacts"))
        if m is None:
            return None
        uid = self.r.text(m.get("id"), f"{field}.id")
        if uid in self.units:
            self.r.error(m.get("id"), f"{field}.id", f'id "{uid}" is used twice')
            return None
        field = f"units[{uid}]" if uid else field
        name = self.r.text(m.get("name"), f"{field}.name")
        alias_nodes = self.r.sequence(m.get("aliases"), f"{field}.aliases")
        located_aliases = [(self.r.text(n, f"{field}.aliases[{i}]"), n) for i, n in enumerate(alias_nodes)]
        aliases = tuple(a for a, _ in located_aliases if a is not None)
        kind = self.r.choice(m.get("kind"), f"{field}.kind", UNIT_KINDS)
        contacts = self.each(m.get("contacts"), f"{field}.contacts", self.read_contact)
        if uid is not None and name is not None:
            self.claim_names(uid, [(name, m.get("name"), f"{field}.name")] + [
                (a, n, f"{field}.aliases") for a, n in located_aliases if a is not None])
        if uid is None or name is None or kind is None:
            if uid is not None:
                self.unusable["unit"].add(uid)
            return None
        self.units[uid] = Unit(uid, name, aliases, kind, tuple(contacts))
        return self.units[uid]

    def read_email(self, node: Node | None, field: str) -> str | None:
        email = self.r.text(node, field)
        if email is not None and (email.count("@") != 1 or "." not in email.split("@")[1] or " " in email):
            self.r.error(node, field, f'"{email}" is not an email address')
            return None
        return email

    def read_contact(self, node: Node, field: str) -> Contact | None:
        m = self.r.mapping(node, field, required=("role", "email"))
        if m is None:
            return None
        role, email = self.r.text(m.get("role"), f"{field}.role"), self.read_email(m.get("email"), f"{field}.email")
        return Contact(role, email) if role and email else None

    def read_group(self, node: Node, field: str) -> Group | None:
        m = self.r.mapping(node, field, required=("id", "name", "members"), optional=("aliases",))
        if m is None:
            return None
        gid = self.r.text(m.get("id"), f"{field}.id")
        if gid in self.units or gid in self.groups:
            self.r.error(m.get("id"), f"{field}.id", f'id "{gid}" is already used')
            return None
        name = self.r.text(m.get("name"), f"{field}.name")
        alias_nodes = self.r.sequence(m.get("aliases"), f"{field}.aliases")
        located_aliases = [(self.r.text(n, f"{field}.aliases[{i}]"), n) for i, n in enumerate(alias_nodes)]
        aliases = tuple(a for a, _ in located_aliases if a is not None)
        members = self.unit_refs(m.get("members"), f"{field}.members")
        if not gid or not name:
            if gid:
                self.unusable["unit"].add(gid)
            return None
        if not members and isinstance(m.get("members"), SequenceNode):
            self.r.error(m.get("members"), f"{field}.members", "a group needs at least one member")
        self.claim_names(gid, [(name, m.get("name"), f"{field}.name")] + [
            (a, n, f"{field}.aliases") for a, n in located_aliases if a is not None])
        group = Group(gid, name, aliases, members)
        self.groups[gid] = group
        return group

    def read_person(self, node: Node | None, field: str, role: str) -> Person | None:
        m = self.r.mapping(node, field, required=("id", "name", "title", "unit", "email"))
        if m is None:
            return None
        values = [self.r.text(m.get(k), f"{field}.{k}") for k in ("id", "name", "title")]
        unit = self.unit_ref(m.get("unit"), f"{field}.unit")
        email = self.read_email(m.get("email"), f"{field}.email")
        if None in values or unit is None:
            return None
        # A bad email is reported above (so no plan is built); the person still speaks for the unit,
        # which spares a "no member speaks for" problem on each of its obligations.
        return Person(*values, unit=unit, email=email, role=role)

    def read_leading_group(self, node: Node | None, field: str) -> LeadingGroup | None:
        m = self.r.mapping(node, field, required=("name", "leader", "deputies", "members", "office"), optional=("within",))
        if m is None:
            return None
        leader = self.read_person(m.get("leader"), f"{field}.leader", "leader")
        located_deputies = self.each_located(m.get("deputies"), f"{field}.deputies", lambda n, f: self.read_person(n, f, "deputy"))
        located_members = self.each_located(m.get("members"), f"{field}.members", lambda n, f: self.read_person(n, f, "member"))
        members = [p for p, _, _ in located_members]
        leader_located = [(leader, m.get("leader"), f"{field}.leader")] if leader else []
        self.unique([*leader_located, *located_deputies, *located_members], lambda p: p.id)
        deputies = [p for p, _, _ in located_deputies]
        spoken_for: dict[str, str] = {}
        for person, person_node, person_field in located_members:
            if person.unit in spoken_for:
                self.r.error(value_node(person_node, "unit") or person_node, f"{person_field}.unit", f'{person.name} and {spoken_for[person.unit]} both speak for "{person.unit}"; escalations need one member per unit')
            spoken_for.setdefault(person.unit, person.name)
        office = self.read_office(m.get("office"), f"{field}.office")
        within = self.unit_ref(m.get("within"), f"{field}.within") if "within" in m else None
        name = self.r.text(m.get("name"), f"{field}.name")
        if leader is None or office is None or name is None:
            return None
        return LeadingGroup(name, within, leader, tuple(deputies), tuple(members), office)

    def read_office(self, node: Node | None, field: str) -> Office | None:
        m = self.r.mapping(node, field, required=("name", "housed_in", "director", "duty", "email"))
        if m is None:
            return None
        values = [self.r.text(m.get(k), f"{field}.{k}") for k in ("name",)]
        housed_in = self.unit_ref(m.get("housed_in"), f"{field}.housed_in")
        rest = [self.r.text(m.get(k), f"{field}.{k}") for k in ("director", "duty")]
        email = self.read_email(m.get("email"), f"{field}.email")
        if None in values or None in rest or housed_in is None or email is None:
            return None
        return Office(values[0], housed_in, rest[0], rest[1], email)

    def read_event(self, node: Node, field: str) -> Event | None:
        m = self.r.mapping(node, field, required=("id", "name", "text", "issued_by"))
        if m is None:
            return None
        eid = self.r.text(m.get("id"), f"{field}.id")
        if eid in self.events:
            self.r.error(m.get("id"), f"{field}.id", f'id "{eid}" is used twice')
            return None
        values = [eid, self.r.text(m.get("name"), f"{field}.name"), self.r.text(m.get("text"), f"{field}.text"),
                  self.unit_ref(m.get("issued_by"), f"{field}.issued_by")]
        if None in values:
            if eid is not None:
                self.unusable["event"].add(eid)
            return None
        self.events[eid] = Event(*values)
        return self.events[eid]

    # ── obligations ──────────────────────────────────────────────────────────────────────────

    def read_obligations(self, node: Node | None, field: str, group: LeadingGroup | None) -> list[Obligation]:
        located = self.each_located(node, field, self.read_obligation)
        declared = [o for o, _, _ in located]
        self.unique([(o, n, f"obligations[{o.id}]") for o, n, _ in located], lambda o: o.id)
        expanded: list[Obligation] = []
        for obligation in declared:
            members = self.groups[obligation.lead].members if obligation.lead in self.groups else ()
            if members:
                expanded += [replace(obligation, id=f"{obligation.id}.{m}", lead=m, group=obligation.lead)
                             for m in members]
            else:
                expanded.append(obligation)
        if group is not None:
            for nodes_obligation, obligation_node, _ in located:
                leads = self.groups[nodes_obligation.lead].members if nodes_obligation.lead in self.groups else (nodes_obligation.lead,)
                for lead in leads:
                    if group.member_for(lead) is None:
                        self.r.error(value_node(obligation_node, "lead") or obligation_node, f"obligations[{nodes_obligation.id}].lead",
                                     f'no leading-group member speaks for "{lead}": add one under leading_group.members, '
                                     "or escalations about it skip the first rung")
        return expanded

    def read_obligation(self, node: Node, field: str) -> Obligation | None:
        field = self.named(node, field, "obligations")
        m = self.r.mapping(node, field, required=("id", "lead", "task", "deadline", "sources"), optional=(
            "co_units", "detail", "awaits", "start", "until", "targets", "report_to"))
        if m is None:
            return None
        oid = self.r.text(m.get("id"), f"{field}.id")
        field = f"obligations[{oid}]" if oid else field
        lead = self.ref(m.get("lead"), f"{field}.lead", {**self.units, **self.groups}, "unit or group")
        co_units = self.unit_refs(m.get("co_units"), f"{field}.co_units")
        if lead in co_units:
            self.r.error(m.get("co_units"), f"{field}.co_units", f'"{lead}" leads this obligation and cannot also cooperate on it')
        task = self.r.text(m.get("task"), f"{field}.task")
        detail = self.r.text(m.get("detail"), f"{field}.detail") if "detail" in m else None
        deadline = self.read_deadline(m.get("deadline"), f"{field}.deadline")
        awaits = self.ref(m.get("awaits"), f"{field}.awaits", self.events, "event") if "awaits" in m else None
        if deadline is not None and isinstance(deadline, AfterEvent) != ("awaits" in m):
            self.r.error(m.get("deadline"), f"{field}.awaits", "an after-event deadline needs `awaits: <event id>`"
                         if isinstance(deadline, AfterEvent) else f"only after-event deadlines wait for an event (this one is {deadline.kind})")
        start = self.in_plan(m.get("start"), f"{field}.start", self.r.date(m.get("start"), f"{field}.start"))
        until = self.in_plan(m.get("until"), f"{field}.until", self.r.date(m.get("until"), f"{field}.until"))
        if start and until and until < start:
            self.r.error(m.get("until"), f"{field}.until", f"ends ({until}) before it starts ({start})")
        targets = self.r.texts(m.get("targets"), f"{field}.targets")
        self.pending_target_refs.append((m.get("targets"), f"{field}.targets", targets))
        report_to = self.unit_refs(m.get("report_to"), f"{field}.report_to")
        sources = self.each(m.get("sources"), f"{field}.sources", self.read_source)
        if isinstance(m.get("sources"), SequenceNode) and not self.r.items(m.get("sources")):
            self.r.error(m.get("sources"), f"{field}.sources", "cite at least one place in the document")
        if None in (oid, lead, task, deadline):
            if oid is not None:
                self.unusable["obligation"].add(oid)
            return None
        return Obligation(oid, lead, co_units, task, deadline, tuple(sources), detail, awaits, start, until,
                          targets, report_to, declared_id=oid)

    def read_deadline(self, node: Node | None, field: str) -> DeadlineRule | None:
        m = self.r.mapping(node, field, required=("text",), optional=("kind", "due"))
        if m is None:
            return None
        text = self.r.text(m.get("text"), f"{field}.text")
        if text is None:
            return None
        try:
            rule = parse_deadline(text, year=self.start.year if self.start != date.min else None)
        except DeadlinePhraseError as exc:
            self.r.error(m.get("text"), f"{field}.text", str(exc))
            return None
        stated_kind = self.r.text(m.get("kind"), f"{field}.kind") if "kind" in m else None
        if stated_kind is not None and stated_kind != rule.kind:
            self.r.error(m.get("kind"), f"{field}.kind", f'says {stated_kind}, but "{text}" reads as {rule.kind}')
        if "due" in m:
            due = self.r.date(m.get("due"), f"{field}.due")
            parsed_due = rule.due if isinstance(rule, Fixed) else None
            if due is not None and due != parsed_due:
                self.r.error(m.get("due"), f"{field}.due", f'says {due}, but "{text}" reads as {parsed_due or rule.kind}')
        for dated in _fixed_dates(rule):
            self.in_plan(m.get("text"), f"{field}.text", dated)
        return rule

    def read_source(self, node: Node, field: str) -> Source | None:
        m = self.r.mapping(node, field, required=("section",), optional=("unit", "item", "quote", "deadline_text"))
        if m is None:
            return None
        section = self.r.text(m.get("section"), f"{field}.section")
        unit = self.r.text(m.get("unit"), f"{field}.unit") if "unit" in m else None
        if unit is not None and unit not in self.names and unit not in self.units:
            self.r.error(m.get("unit"), f"{field}.unit", f'"{unit}" names no unit or group{did_you_mean(unit, self.names)}')
        item = self.r.integer(m.get("item"), f"{field}.item", minimum=1) if "item" in m else None
        quote = self.r.text(m.get("quote"), f"{field}.quote") if "quote" in m else None
        deadline_text = self.r.text(m.get("deadline_text"), f"{field}.deadline_text") if "deadline_text" in m else None
        return Source(section, unit, item, quote, deadline_text) if section else None

    # ── supervision and calendar ─────────────────────────────────────────────────────────────

    def read_supervision(self, node: Node | None, field: str) -> Supervision | None:
        m = self.r.mapping(node, field, required=("ongoing_cadence", "reminder_working_days_before", "chase", "escalation",
                                                  "awaiting_grace_working_days"))
        if m is None:
            return None
        cadence_text = self.r.text(m.get("ongoing_cadence"), f"{field}.ongoing_cadence")
        cadence = None
        if cadence_text is not None:
            try:
                cadence = parse_deadline(cadence_text)
            except DeadlinePhraseError as exc:
                self.r.error(m.get("ongoing_cadence"), f"{field}.ongoing_cadence", str(exc))
            if cadence is not None and not isinstance(cadence, Periodic):
                self.r.error(m.get("ongoing_cadence"), f"{field}.ongoing_cadence",
                             f'"{cadence_text}" reads as {cadence.kind}; the cadence must be periodic (e.g. 季度结束后10日内)')
                cadence = None
        offsets_node = m.get("reminder_working_days_before")
        offsets = [self.r.integer(n, f"{field}.reminder_working_days_before[{i}]", minimum=0)
                   for i, n in enumerate(self.r.sequence(offsets_node, f"{field}.reminder_working_days_before"))]
        if len(set(offsets)) != len(offsets):
            self.r.error(offsets_node, f"{field}.reminder_working_days_before", "lists the same offset twice")
        chase = self.r.mapping(m.get("chase"), f"{field}.chase", required=("first_after_working_days", "repeat_every_working_days")) or {}
        first = self.r.integer(chase.get("first_after_working_days"), f"{field}.chase.first_after_working_days", minimum=1)
        repeat = self.r.integer(chase.get("repeat_every_working_days"), f"{field}.chase.repeat_every_working_days", minimum=1)
        located_steps = self.each_located(m.get("escalation"), f"{field}.escalation", self.read_step)
        steps = [s for s, _, _ in located_steps]
        # Order is checked only when every step was readable; otherwise the gap is the problem.
        complete = len(located_steps) == len(self.r.items(m.get("escalation")))
        for (a, _, _), (b, b_node, b_field) in zip(located_steps, located_steps[1:]) if complete else ():
            if b.level != a.level + 1 or b.after_working_days <= a.after_working_days:
                self.r.error(b_node, b_field, "levels must count up by one and each must come later than the one before")
        if located_steps and steps[0].level != 1:
            first, first_node, first_field = located_steps[0]
            self.r.error(value_node(first_node, "level") or first_node, f"{first_field}.level", "the ladder starts at level 1")
        grace = self.r.integer(m.get("awaiting_grace_working_days"), f"{field}.awaiting_grace_working_days", minimum=1)
        if cadence is None or None in offsets or None in (first, repeat, grace) or not steps:
            if not steps:
                self.r.error(m.get("escalation"), f"{field}.escalation", "the escalation ladder needs at least one level")
            return None
        return Supervision(cadence, tuple(sorted(offsets, reverse=True)), first, repeat, tuple(steps), grace)

    def read_step(self, node: Node, field: str) -> EscalationStep | None:
        m = self.r.mapping(node, field, required=("level", "after_working_days", "to"))
        if m is None:
            return None
        level = self.r.integer(m.get("level"), f"{field}.level", minimum=1)
        after = self.r.integer(m.get("after_working_days"), f"{field}.after_working_days", minimum=1)
        to_nodes = self.r.sequence(m.get("to"), f"{field}.to")
        to = tuple(filter(None, (self.r.choice(n, f"{field}.to[{i}]", LADDER_RUNGS) for i, n in enumerate(to_nodes))))
        if not to:
            if isinstance(m.get("to"), SequenceNode) and not to_nodes:
                self.r.error(m.get("to"), f"{field}.to", f"name who is told: {', '.join(LADDER_RUNGS)}")
            return None
        return EscalationStep(level, after, to) if level and after else None

    def read_calendar(self, node: Node | None, field: str) -> tuple[YearOverride, ...] | None:
        years: list[YearOverride] = []
        if node is not None:
            m = self.r.mapping(node, field, required=(), optional=("years",)) or {}
            for i, year_node in enumerate(self.r.sequence(m.get("years"), f"{field}.years")):
                y = self.r.mapping(year_node, f"{field}.years[{i}]", required=("year",), optional=("holidays", "workdays"))
                if y is None:
                    continue
                year = self.r.integer(y.get("year"), f"{field}.years[{i}].year", minimum=1900)
                holidays = self.r.dates(y.get("holidays"), f"{field}.years[{i}].holidays")
                workdays = self.r.dates(y.get("workdays"), f"{field}.years[{i}].workdays")
                if year is None:
                    continue
                try:
                    years.append(YearOverride(year, frozenset(holidays), frozenset(workdays)))
                except ValueError as exc:
                    self.r.error(year_node, f"{field}.years[{i}]", str(exc))
        try:
            calendar = WorkingCalendar(years)
        except ValueError as exc:
            self.r.error(node, field, str(exc))
            return None
        # Reports for the plan's last period fall due early in the year after it ends.
        if self.start != date.min and self.end != date.max:
            for year in range(self.start.year, self.end.year + 2):
                if not calendar.knows(year):
                    self.r.error(node, field, f"the working-day calendar does not know {year} (known: "
                                 f"{calendar.describe_known()}); declare its holidays under calendar.years")
        return tuple(years)


def _fixed_dates(rule: DeadlineRule) -> list[date]:
    """Dates the rule states outright, which must fall inside the plan."""
    if isinstance(rule, Fixed):
        return [rule.due]
    if isinstance(rule, Staged):
        return [d for stage in rule.stages for d in _fixed_dates(stage.rule)]
    return [d for d in (getattr(rule, "start", None), getattr(rule, "end", None)) if d]


__all__ = ["load_plan", "PlanInvalid"]
