"""The settings part of the plan file: supervision (reminders, the escalation ladder), the working-day
calendar and the time zone. Part of ``PlanReader``.
"""

from __future__ import annotations

from datetime import date
from types import MappingProxyType
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from yaml.nodes import Node, SequenceNode

from responsibilities.deadlines.phrases import DeadlinePhraseError, parse_deadline
from responsibilities.deadlines.rules import Periodic
from responsibilities.deadlines.working_days import WorkingCalendar, YearOverride
from responsibilities.plan.model import DEFAULT_SCHEDULES, LADDER_RUNGS, EscalationStep, Supervision
from responsibilities.plan.sections import SectionReader
from responsibilities.plan.yaml_reader import value_node


class SettingsReader(SectionReader):
    def read_time_zone(self, node: Node | None, field: str) -> str | None:
        value = self.r.text(node, field)
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            self.r.error(node, field, f'unknown time zone "{value}" (e.g. Asia/Shanghai)')
            return None
        return value

    def read_supervision(self, node: Node | None, field: str) -> Supervision | None:
        m = self.r.mapping(node, field, required=("ongoing_cadence", "reminder_working_days_before", "chase",
                                                  "escalation", "awaiting_grace_working_days"))
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
                             f'"{cadence_text}" reads as {cadence.kind}; '
                             "the cadence must be periodic (e.g. 季度结束后10日内)")
                cadence = None
        offsets_node = m.get("reminder_working_days_before")
        offsets = [self.r.integer(n, f"{field}.reminder_working_days_before[{i}]", minimum=0)
                   for i, n in enumerate(self.r.sequence(offsets_node, f"{field}.reminder_working_days_before",
                                                         non_empty=True))]
        if len(set(offsets)) != len(offsets):
            self.r.error(offsets_node, f"{field}.reminder_working_days_before", "lists the same offset twice")
        chase = self.r.mapping(m.get("chase"), f"{field}.chase",
                               required=("first_after_working_days", "repeat_every_working_days")) or {}
        first = self.r.integer(chase.get("first_after_working_days"), f"{field}.chase.first_after_working_days",
                               minimum=1)
        repeat = self.r.integer(chase.get("repeat_every_working_days"), f"{field}.chase.repeat_every_working_days",
                                minimum=1)
        located_steps = self.each_located(m.get("escalation"), f"{field}.escalation", self.read_step)
        steps = [s for s, _, _ in located_steps]
        # Order is checked only when every step was readable; otherwise the gap is the problem.
        complete = len(located_steps) == len(self.r.items(m.get("escalation")))
        for (a, _, _), (b, b_node, b_field) in zip(located_steps, located_steps[1:], strict=False) if complete else ():
            if b.level != a.level + 1 or b.after_working_days <= a.after_working_days:
                self.r.error(b_node, b_field,
                             "levels must count up by one and each must come later than the one before")
        if located_steps and steps[0].level != 1:
            first, first_node, first_field = located_steps[0]
            self.r.error(value_node(first_node, "level") or first_node, f"{first_field}.level",
                         "the ladder starts at level 1")
        grace = self.r.integer(m.get("awaiting_grace_working_days"), f"{field}.awaiting_grace_working_days", minimum=1)
        if cadence is None or None in offsets or None in (first, repeat, grace) or not steps:
            if not steps:
                self.r.error(m.get("escalation"), f"{field}.escalation",
                             "the escalation ladder needs at least one level")
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
                y = self.r.mapping(year_node, f"{field}.years[{i}]", required=("year",),
                                   optional=("holidays", "workdays"))
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

    def read_schedules(self, node: Node | None, field: str) -> Mapping[str, str] | None:
        """Cron expressions for the known flows; a flow left out keeps its default."""
        schedules = dict(DEFAULT_SCHEDULES)
        if node is None:
            return MappingProxyType(schedules)
        m = self.r.mapping(node, field, required=(), optional=tuple(DEFAULT_SCHEDULES))
        if m is None:
            return None
        from apscheduler.triggers.cron import CronTrigger  # only to check the expression, as the scheduler will read it

        for name, expression_node in m.items():
            expression = self.r.text(expression_node, f"{field}.{name}")
            if expression is None:
                continue
            try:
                CronTrigger.from_crontab(expression)
            except ValueError as exc:
                self.r.error(expression_node, f"{field}.{name}", f'"{expression}" is not a cron expression '
                             f"(minute hour day month weekday, e.g. \"0 8 * * *\"): {exc}")
                continue
            schedules[name] = expression
        return MappingProxyType(schedules)
