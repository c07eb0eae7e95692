"""Load and validate `deadlines.yaml` into a ``Plan``.

``load_plan(path)`` returns the plan or raises ``PlanInvalid`` carrying every problem found, each with
file:line:column and the field. Sections are read in dependency order (units before what refers to
them), so references are checked as they are read and one pass finds everything. Loading is pure: it
reads one file and writes nothing.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path

from yaml.nodes import Node, SequenceNode

from responsibilities.deadlines.phrases import DeadlinePhraseError, parse_deadline
from responsibilities.deadlines.rules import AfterEvent, DeadlineRule, Fixed, Staged
from responsibilities.plan.model import (
    ID_LENGTH,
    OBLIGATION_ID_LENGTH,
    PLAN_ID_PATTERN,
    SHORT_NAME_LENGTH,
    UNIT_KINDS,
    Contact,
    Event,
    Group,
    InCharge,
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
from responsibilities.plan.numbers import NumbersReader
from responsibilities.plan.supervision import SettingsReader
from responsibilities.plan.yaml_reader import (
    PlanInvalid,
    Reader,
    compose_file,
    compose_text,
    did_you_mean,
    value_node,
)

TOP_LEVEL = ("plan", "units", "groups", "leading_group", "events", "obligations", "targets", "reporting",
             "supervision", "calendar", "schedules")


def load_plan(path: Path | str) -> Plan:
    """The validated plan in ``path``; raises PlanInvalid with every problem in the file."""
    return _read(*compose_file(Path(path)))


def load_plan_text(text: str, name: str) -> Plan:
    """``load_plan`` for a plan file's text in hand (a reviewed import draft); problems name it ``name``."""
    return _read(*compose_text(text, Reader(name)))


def _read(root: Node | None, reader: Reader) -> Plan:
    if root is None:
        raise PlanInvalid(reader.problems)
    plan = PlanReader(reader).read(root)
    if reader.problems or plan is None:
        raise PlanInvalid(reader.problems)
    return plan


class PlanReader(NumbersReader, SettingsReader):
    """Reads the sections of the plan file, checking references against what was read before."""

    # ── sections ─────────────────────────────────────────────────────────────────────────────

    def read(self, root: Node) -> Plan | None:
        # A plan read from its division-of-labour table alone (`duban plan import`) may have no leading group (its
        # escalations then go to each unit's leader in charge and the office), no groups, and no numbers.
        top = self.r.mapping(root, "", required=("plan", "units", "obligations", "supervision"),
                             optional=("groups", "leading_group", "events", "targets", "reporting", "calendar",
                                       "schedules"))
        if top is None:
            return None
        # What a covering notice says (its title, drafter, addressees, basis) is optional: a plan read from its
        # division-of-labour table alone (`duban plan import`) may not know it.
        header = self.r.mapping(top.get("plan"), "plan", required=(
            "id", "title", "written_on", "published_on", "time_zone", "start", "end", "phases"),
            optional=("short_name", "document_number", "notice_title", "drafted_by", "addressees", "basis", "issuer"))
        if header is None:
            return None
        self.start = self.r.date(header.get("start"), "plan.start") or date.min
        self.end = self.r.date(header.get("end"), "plan.end") or date.max
        if self.start > self.end:
            self.r.error(header.get("end"), "plan.end", f"the plan ends ({self.end}) before it starts ({self.start})")
        for unit in self.each(top.get("units"), "units", self.read_unit, non_empty=True):
            self.units.setdefault(unit.id, unit)
        groups = self.each(top.get("groups"), "groups", self.read_group)
        self.groups = {g.id: g for g in groups}
        leading_group = (self.read_leading_group(top.get("leading_group"), "leading_group")
                         if "leading_group" in top else None)
        events = self.each(top.get("events"), "events", self.read_event)
        self.events = {e.id: e for e in events}
        obligations = self.read_obligations(top.get("obligations"), "obligations", leading_group)
        declared = {o.declared_id for o in obligations}
        targets = self.read_targets(top.get("targets"), "targets", self.units) if "targets" in top else None
        reporting = (self.read_reporting(top.get("reporting"), "reporting", declared, self.units)
                     if "reporting" in top else None)
        if "targets" not in top:
            for refs_node, refs_field, refs in self.pending_target_refs:
                for ref in refs:
                    self.r.error(refs_node, refs_field, f'unknown target "{ref}": the plan has no targets section')
        if ("targets" in top) != ("reporting" in top):
            self.r.error(root, "", "targets and reporting go together: the monthly figures are reported against "
                                   "the targets (give both, or neither)")
        supervision = self.read_supervision(top.get("supervision"), "supervision")
        if "leading_group" not in top and supervision is not None:
            for step in supervision.escalation:
                for rung in set(step.to) & {"deputies", "leader"}:
                    self.r.error(top.get("supervision"), "supervision.escalation",
                                 f'level {step.level} goes to "{rung}", but the plan has no leading_group: without '
                                 "one, escalations go to unit-member (the unit's leader in charge) and office")
        calendar_years = self.read_calendar(top.get("calendar"), "calendar")
        schedules = self.read_schedules(top.get("schedules"), "schedules")
        plan_id = self.r.text(header.get("id"), "plan.id", max_length=ID_LENGTH)
        if plan_id is not None and not re.fullmatch(PLAN_ID_PATTERN, plan_id):
            self.r.error(header.get("id"), "plan.id", f'"{plan_id}" is not a plan id: lower-case ASCII letters, '
                         "digits and hyphens (it appears in keys, addresses and commands), e.g. guigang-skills-2019")
            plan_id = None
        short_name = (self.r.text(header.get("short_name"), "plan.short_name", max_length=SHORT_NAME_LENGTH)
                      if "short_name" in header else "")
        plan_fields = dict(
            id=plan_id, short_name=short_name,
            title=self.r.text(header.get("title"), "plan.title"),
            notice_title=(self.r.text(header.get("notice_title"), "plan.notice_title") if "notice_title" in header
                          else self.r.text(header.get("title"), "plan.title")),
            document_number=(self.r.text(header.get("document_number"), "plan.document_number", max_length=ID_LENGTH)
                             if "document_number" in header else ""),
            issuer=self.unit_ref(header.get("issuer"), "plan.issuer") if "issuer" in header else "",
            drafted_by=self.r.text(header.get("drafted_by"), "plan.drafted_by") if "drafted_by" in header else "",
            addressees=self.r.text(header.get("addressees"), "plan.addressees") if "addressees" in header else "",
            written_on=self.in_plan(header.get("written_on"), "plan.written_on",
                                    self.r.date(header.get("written_on"), "plan.written_on")),
            published_on=self.in_plan(header.get("published_on"), "plan.published_on",
                                      self.r.date(header.get("published_on"), "plan.published_on")),
            basis=self.r.texts(header.get("basis"), "plan.basis") if "basis" in header else (),
            time_zone=self.read_time_zone(header.get("time_zone"), "plan.time_zone"),
            start=self.start,
            end=self.end,
            phases=tuple(self.each(header.get("phases"), "plan.phases", self.read_phase, non_empty=True)),
        )
        if (plan_fields["written_on"] and plan_fields["published_on"]
                and plan_fields["published_on"] < plan_fields["written_on"]):
            self.r.error(header.get("published_on"), "plan.published_on", "published before it was written")
        parts = ((leading_group,) * ("leading_group" in top) + (targets,) * ("targets" in top)
                 + (reporting,) * ("reporting" in top) + (supervision, calendar_years))
        if self.r.problems or any(p is None for p in parts) or any(v is None for v in plan_fields.values()):
            return None
        return Plan(**plan_fields, units=tuple(self.units.values()), groups=tuple(groups),
                    leading_group=leading_group, events=tuple(events), obligations=tuple(obligations),
                    targets=targets, reporting=reporting, supervision=supervision, calendar_years=calendar_years,
                    schedules=schedules)

    def read_phase(self, node: Node, field: str) -> Phase | None:
        m = self.r.mapping(node, field, required=("id", "name", "text", "spans"))
        if m is None:
            return None
        spans = self.each(m.get("spans"), f"{field}.spans", self.read_span, non_empty=True)
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

    def read_unit(self, node: Node, field: str) -> Unit | None:
        field = self.named(node, field, "units")
        m = self.r.mapping(node, field, required=("id", "name", "kind"), optional=("aliases", "contacts", "leader"))
        if m is None:
            return None
        uid = self.r.text(m.get("id"), f"{field}.id", max_length=ID_LENGTH)
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
        leader = self.read_in_charge(m.get("leader"), f"{field}.leader") if "leader" in m else None
        if uid is not None and name is not None:
            self.claim_names(uid, [(name, m.get("name"), f"{field}.name")] + [
                (a, n, f"{field}.aliases") for a, n in located_aliases if a is not None])
        if uid is None or name is None or kind is None:
            if uid is not None:
                self.unusable["unit"].add(uid)
            return None
        self.units[uid] = Unit(uid, name, aliases, kind, tuple(contacts), leader)
        return self.units[uid]

    def read_in_charge(self, node: Node | None, field: str) -> InCharge | None:
        m = self.r.mapping(node, field, required=("name", "title", "email"))
        if m is None:
            return None
        name, title = self.r.text(m.get("name"), f"{field}.name"), self.r.text(m.get("title"), f"{field}.title")
        email = self.read_email(m.get("email"), f"{field}.email")
        return InCharge(name, title, email) if name and title and email else None

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
        gid = self.r.text(m.get("id"), f"{field}.id", max_length=ID_LENGTH)
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
        values = [self.r.text(m.get(k), f"{field}.{k}", max_length=ID_LENGTH if k == "id" else None)
                  for k in ("id", "name", "title")]
        unit = self.unit_ref(m.get("unit"), f"{field}.unit")
        email = self.read_email(m.get("email"), f"{field}.email")
        if None in values or unit is None:
            return None
        # A bad email is reported above (so no plan is built); the person still speaks for the unit,
        # which spares a "no member speaks for" problem on each of its obligations.
        return Person(*values, unit=unit, email=email, role=role)

    def read_leading_group(self, node: Node | None, field: str) -> LeadingGroup | None:
        m = self.r.mapping(node, field, required=("name", "leader", "deputies", "members", "office"),
                           optional=("within",))
        if m is None:
            return None
        leader = self.read_person(m.get("leader"), f"{field}.leader", "leader")
        located_deputies = self.each_located(m.get("deputies"), f"{field}.deputies",
                                             lambda n, f: self.read_person(n, f, "deputy"))
        located_members = self.each_located(m.get("members"), f"{field}.members",
                                            lambda n, f: self.read_person(n, f, "member"))
        members = [p for p, _, _ in located_members]
        leader_located = [(leader, m.get("leader"), f"{field}.leader")] if leader else []
        self.unique([*leader_located, *located_deputies, *located_members], lambda p: p.id)
        deputies = [p for p, _, _ in located_deputies]
        spoken_for: dict[str, str] = {}
        for person, person_node, person_field in located_members:
            if person.unit in spoken_for:
                self.r.error(value_node(person_node, "unit") or person_node, f"{person_field}.unit",
                             f'{person.name} and {spoken_for[person.unit]} both speak for "{person.unit}"; '
                             "escalations need one member per unit")
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
        eid = self.r.text(m.get("id"), f"{field}.id", max_length=ID_LENGTH)
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
        located = self.each_located(node, field, self.read_obligation, non_empty=True)
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
                leads = (self.groups[nodes_obligation.lead].members if nodes_obligation.lead in self.groups
                         else (nodes_obligation.lead,))
                for lead in leads:
                    if self.escalation_member(group, lead) is None:
                        self.r.error(value_node(obligation_node, "lead") or obligation_node,
                                     f"obligations[{nodes_obligation.id}].lead",
                                     f'no leading-group member speaks for "{lead}": '
                                     "add one under leading_group.members, "
                                     "or escalations about it skip the first rung")
        return expanded

    def escalation_member(self, group: LeadingGroup, unit_id: str):  # a Person or None
        """Who escalations about the unit go to first: its member; for a region that is no government of its
        own (市本级), the member of the unit housing the office, which compiles its figures."""
        unit = self.units.get(unit_id)
        if unit is not None and unit.kind == "region" and group.member_for(unit_id) is None:
            return group.member_for(group.office.housed_in)
        return group.member_for(unit_id)

    def read_obligation(self, node: Node, field: str) -> Obligation | None:
        field = self.named(node, field, "obligations")
        m = self.r.mapping(node, field, required=("id", "lead", "task", "deadline", "sources"), optional=(
            "co_units", "detail", "awaits", "start", "until", "targets", "report_to"))
        if m is None:
            return None
        oid = self.r.text(m.get("id"), f"{field}.id", max_length=OBLIGATION_ID_LENGTH)
        field = f"obligations[{oid}]" if oid else field
        lead = self.ref(m.get("lead"), f"{field}.lead", {**self.units, **self.groups}, "unit or group")
        co_units = self.unit_refs(m.get("co_units"), f"{field}.co_units")
        if lead in co_units:
            self.r.error(m.get("co_units"), f"{field}.co_units",
                         f'"{lead}" leads this obligation and cannot also cooperate on it')
        task = self.r.text(m.get("task"), f"{field}.task")
        detail = self.r.text(m.get("detail"), f"{field}.detail") if "detail" in m else None
        deadline = self.read_deadline(m.get("deadline"), f"{field}.deadline")
        awaits = self.ref(m.get("awaits"), f"{field}.awaits", self.events, "event") if "awaits" in m else None
        if deadline is not None and isinstance(deadline, AfterEvent) != ("awaits" in m):
            self.r.error(m.get("deadline"), f"{field}.awaits", "an after-event deadline needs `awaits: <event id>`"
                         if isinstance(deadline, AfterEvent)
                         else f"only after-event deadlines wait for an event (this one is {deadline.kind})")
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
                self.r.error(m.get("due"), f"{field}.due",
                             f'says {due}, but "{text}" reads as {parsed_due or rule.kind}')
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
            self.r.error(m.get("unit"), f"{field}.unit",
                         f'"{unit}" names no unit or group{did_you_mean(unit, self.names)}')
        item = self.r.integer(m.get("item"), f"{field}.item", minimum=1) if "item" in m else None
        quote = self.r.text(m.get("quote"), f"{field}.quote") if "quote" in m else None
        deadline_text = self.r.text(m.get("deadline_text"), f"{field}.deadline_text") if "deadline_text" in m else None
        return Source(section, unit, item, quote, deadline_text) if section else None


def _fixed_dates(rule: DeadlineRule) -> list[date]:
    """Dates the rule states outright, which must fall inside the plan."""
    if isinstance(rule, Fixed):
        return [rule.due]
    if isinstance(rule, Staged):
        return [d for stage in rule.stages for d in _fixed_dates(stage.rule)]
    return [d for d in (getattr(rule, "start", None), getattr(rule, "end", None)) if d]


__all__ = ["load_plan", "PlanInvalid"]
