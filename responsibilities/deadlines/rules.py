"""Deadline rules (完成时限): what a deadline text means, as plain immutable data.

A rule never forgets the words it came from (`text`): people argue about the document, not about
our parse of it. The kinds match DESIGN.md §4:

- ``fixed``       one date (2019年10月31日前, 10月底前 with the year from context, 第三季度, 年内 …)
- ``ongoing``     no due date of its own (持续推进, 长期坚持); progress is reported on the plan's cadence,
                  optionally within a stated span (2019年11月1日—2021年12月31日)
- ``periodic``    one due date per period (每月28日前, 次月5日前, 每季度末月20日前, 每年12月底)
- ``after_event`` due a stated time after an outside event (…下发后一个月内, 会后7日内, 5个工作日内)
- ``external``    the date is set by an outside body or later (按自治区要求上报, 视情况适时)
- ``staged``      several stages in one cell, each with a rule of its own

Pure code: no clock, no database. ``first_due`` takes the day to count from as an argument.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, fields
from datetime import date
from typing import Literal, Union

PeriodUnit = Literal["month", "quarter", "half_year", "year"]
OffsetUnit = Literal["day", "working_day", "month"]

MONTHS_IN: dict[str, int] = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}


@dataclass(frozen=True)
class Fixed:
    """Due on one date (inclusive: 前 means “by the end of that day”)."""

    text: str
    due: date
    action: str | None = None  # the verb after the date, if any: 动工, 投入使用, 发布 …
    kind: Literal["fixed"] = "fixed"


@dataclass(frozen=True)
class Ongoing:
    """Carried on continuously; deliverables are progress reports on the plan's cadence."""

    text: str
    start: date | None = None
    end: date | None = None
    kind: Literal["ongoing"] = "ongoing"


@dataclass(frozen=True)
class Periodic:
    """One due date per period.

    Periods start on month boundaries aligned to the calendar year (quarters start in Jan/Apr/Jul/Oct).
    The due date is in the ``due_month``-th month counted from the period's first month (1 = the first),
    on ``due_day`` (None = the month's last day, for 月底/月末). 次月5日前 on a monthly period is
    ``due_month=2, due_day=5``: the report for October is due on 5 November.
    """

    text: str
    every: PeriodUnit
    due_month: int
    due_day: int | None
    kind: Literal["periodic"] = "periodic"


@dataclass(frozen=True)
class AfterEvent:
    """Due ``offset`` units after an event that the office records (下发, 会议, 交办 …)."""

    text: str
    event: str  # the event as the text names it, e.g. 自治区相关文件下发
    offset: int
    offset_unit: OffsetUnit
    kind: Literal["after_event"] = "after_event"


@dataclass(frozen=True)
class External:
    """The date comes from outside the plan: an outside body (按自治区要求) or circumstances (适时)."""

    text: str
    body: str | None = None  # who sets the date, when the text names one
    kind: Literal["external"] = "external"


@dataclass(frozen=True)
class Stage:
    label: str  # what the stage delivers, as written: 第一批目录, 其他批次 …
    rule: "StageRule"


@dataclass(frozen=True)
class Staged:
    """Several stages in one cell; each has its own rule, the first dated one comes first."""

    text: str
    stages: tuple[Stage, ...]
    kind: Literal["staged"] = "staged"


StageRule = Union[Fixed, AfterEvent, External, Periodic, Ongoing]
DeadlineRule = Union[Fixed, Ongoing, Periodic, AfterEvent, External, Staged]

KINDS: tuple[str, ...] = ("fixed", "ongoing", "periodic", "after_event", "external", "staged")


def last_day_of_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def add_months(year: int, month: int, months: int) -> tuple[int, int]:
    """(year, month) moved by ``months``; months are 1-based."""
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def periodic_due_date(rule: Periodic, period_start: tuple[int, int]) -> date:
    """The due date of the period that starts in (year, month)."""
    year, month = add_months(*period_start, rule.due_month - 1)
    last = last_day_of_month(year, month)
    day = last if rule.due_day is None else min(rule.due_day, last)
    return date(year, month, day)


def period_start_of(rule: Periodic, day: date) -> tuple[int, int]:
    """(year, month) of the first month of the period that contains ``day``."""
    length = MONTHS_IN[rule.every]
    return day.year, (day.month - 1) // length * length + 1


def periodic_dues(rule: Periodic, first_period: date, last_period: date) -> list[tuple[date, date]]:
    """(period start, due date) for every period from the one containing ``first_period`` to the one
    containing ``last_period``, both included."""
    step = MONTHS_IN[rule.every]
    start = period_start_of(rule, first_period)
    end = period_start_of(rule, last_period)
    out: list[tuple[date, date]] = []
    while start <= end:
        out.append((date(start[0], start[1], 1), periodic_due_date(rule, start)))
        start = add_months(*start, step)
    return out


def first_due(rule: DeadlineRule, *, on_or_after: date) -> date | None:
    """The first due date on or after ``on_or_after`` that the rule itself dates, or None.

    Ongoing, after-event and external rules date nothing by themselves: their dates come from the
    plan's cadence, a recorded event, or the office.
    """
    if isinstance(rule, Fixed):
        return rule.due if rule.due >= on_or_after else None
    if isinstance(rule, Periodic):
        # The period containing the day may already have its due date behind it (or, for 次月 rules,
        # the previous period's due date may still lie ahead): look one period back and a few ahead.
        back = add_months(*period_start_of(rule, on_or_after), -MONTHS_IN[rule.every] - 12)
        start = back
        for _ in range(40):
            due = periodic_due_date(rule, start)
            if due >= on_or_after:
                return due
            start = add_months(*start, MONTHS_IN[rule.every])
        return None  # unreachable for valid rules; kept explicit rather than looping forever
    if isinstance(rule, Staged):
        dated = [d for s in rule.stages if (d := first_due(s.rule, on_or_after=on_or_after))]
        return min(dated) if dated else None
    return None


def rule_to_json(rule: DeadlineRule | Stage) -> dict:
    """The rule as JSON-ready data: ``kind`` first, dates as ISO strings, stages nested."""
    out: dict = {}
    if isinstance(rule, Stage):
        return {"label": rule.label, "rule": rule_to_json(rule.rule)}
    out["kind"] = rule.kind
    for f in fields(rule):
        if f.name == "kind":
            continue
        value = getattr(rule, f.name)
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = [rule_to_json(v) for v in value]
        out[f.name] = value
    return out
