"""The monthly figures (月报) as pure rules: the fields a report has, reading and checking one report's values,
and where a region stands against its targets (序时进度). No database and no clock: ``today`` is an argument.

The fields come from the plan (``reporting.monthly_report.fields``): trained person-times (人次) in the month,
each a non-negative whole number; a field that is ``part_of`` another is one of its parts, and the parts of a
whole never add up to more than it (enterprise workers + key groups + poor labour ≤ the total; the key groups'
sub-groups ≤ the key groups; new apprentices ≤ enterprise workers).

Messages are for the people who fill the forms in, so they are in Chinese and name the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Mapping, Sequence

from responsibilities.plan.model import ReportField

TOTAL = "total"
ENTERPRISE = "enterprise-workers"
# The most person-times one region can train in one category in one month. Far above any real month (the seed
# plan's goal for the whole city is 120,000 in three years) and far below what could overflow a sum: a plan's
# every region, field and month added up stays under 2**53 on either database.
MAX_COUNT = 1_000_000
MAX_COUNT_CHARS = 20  # "1,000,000" and the like; a longer text is no count (and int() of 5,000 digits is slow)


@dataclass(frozen=True)
class Field:
    id: str
    name: str
    part_of: str | None = None


def fields_of(declared: Iterable[ReportField]) -> tuple[Field, ...]:
    """The report's fields as the rules use them, from the plan's declaration (``LoadedPlan.figures.fields``)."""
    return tuple(Field(f.id, f.name, f.part_of) for f in declared)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a report: the field it is about (None: the report as a whole), and what."""

    field: str | None
    message: str


# ── one value ─────────────────────────────────────────────────────────────────────────────────────

_NUMBER = re.compile(r"^[+-]?\d{1,3}(,\d{3})+$|^[+-]?\d+$")


def parse_count(raw: object) -> int | str:
    """A person-time count from a form, a spreadsheet cell or the command line: the number, or why it is not one.

    Accepted: whole numbers (also written with thousands separators, 1,200), and spreadsheet numbers that are
    whole (1200.0). Refused: blanks, negatives, fractions, text, true/false.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return "未填写(没有培训的类别填 0)"
    if isinstance(raw, bool):
        return f"“{raw}”不是人次数"
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")) or not raw.is_integer():
            return f"{raw:g} 不是整数:人次须为整数"
        if abs(raw) > MAX_COUNT:
            return _out_of_range(f"{raw:g}")
        raw = int(raw)
    if isinstance(raw, int):
        return _in_range(raw)
    text = str(raw).strip().replace(",", ",").replace(" ", "")
    if len(text) > MAX_COUNT_CHARS:
        return f"“{text[:MAX_COUNT_CHARS]}…”太长,不是人次数:请填写 0 至 {MAX_COUNT:,} 的整数"
    if not _NUMBER.match(text):
        try:
            number = float(text)
        except ValueError:
            return f"“{str(raw).strip()}”不是数字:请填写人次(非负整数)"
        return parse_count(number)
    return _in_range(int(text.replace(",", "")))


def _in_range(value: int) -> int | str:
    if value < 0:
        return f"{value} 是负数:人次不能为负"
    return value if value <= MAX_COUNT else _out_of_range(f"{value:,}")


def _out_of_range(shown: str) -> str:
    return f"{shown} 超出合理范围:一个地区一个月每类培训不超过 {MAX_COUNT:,} 人次,请核对"


# ── one report ────────────────────────────────────────────────────────────────────────────────────


def resolve_field(fields: Sequence[Field], key: str) -> Field | None:
    """A field by its id (enterprise-workers) or its name as the form prints it (企业职工)."""
    key = key.strip()
    return next((f for f in fields if key in (f.id, f.name)), None)


def check_parts(fields: Sequence[Field], values: Mapping[str, int]) -> list[Problem]:
    """Parts never exceed their whole, alone or together."""
    problems = []
    by_id = {f.id: f for f in fields}
    for whole in fields:
        parts = [f for f in fields if f.part_of == whole.id and f.id in values]
        if whole.id not in values or not parts:
            continue
        too_big = [p for p in parts if values[p.id] > values[whole.id]]
        for part in too_big:
            problems.append(Problem(part.id, f"「{part.name}」{values[part.id]} 大于「{whole.name}」{values[whole.id]}:"
                                             f"{part.name}是{whole.name}的一部分"))
        total = sum(values[p.id] for p in parts)
        if not too_big and len(parts) > 1 and total > values[whole.id]:
            names = "、".join(f"「{p.name}」" for p in parts)
            problems.append(Problem(whole.id, f"{names}之和 {total} 大于「{whole.name}」{values[whole.id]}:"
                                              f"它们都是{by_id[whole.id].name}的一部分"))
    return problems


def validate_figures(fields: Sequence[Field], raw: Mapping[str, object]) -> tuple[dict[str, int], list[Problem]]:
    """Every field's value checked: (the values, []) or (what could be read, the problems)."""
    problems: list[Problem] = []
    known = {f.id for f in fields}
    unknown = [key for key in raw if key not in known]
    for key in unknown[:5]:  # a few are enough to see the mistake; a flood of them is one message
        problems.append(Problem(None, f"没有名为“{str(key)[:40]}”的填报项;填报项为:"
                                      + "、".join(f.name for f in fields)))
    if len(unknown) > 5:
        problems.append(Problem(None, f"另有 {len(unknown) - 5} 个未知的填报项"))
    values: dict[str, int] = {}
    for f in fields:
        parsed = parse_count(raw.get(f.id))
        if isinstance(parsed, str):
            problems.append(Problem(f.id, f"「{f.name}」{parsed}"))
        else:
            values[f.id] = parsed
    problems += check_parts(fields, values)
    return values, problems


# ── months ────────────────────────────────────────────────────────────────────────────────────────


def parse_month(text: object) -> date | None:
    """The first day of a month written 2020-03 (or 2020-3, 2020年3月, or a spreadsheet date); None if unreadable."""
    if isinstance(text, date):
        return date(text.year, text.month, 1)
    match = re.fullmatch(r"\s*(\d{4})\s*(?:-|/|年)\s*(\d{1,2})\s*月?\s*", str(text or ""))
    if not match or not 1 <= int(match.group(2)) <= 12:
        return None
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_key(month: date) -> str:
    return f"{month.year}-{month.month:02d}"


# ── progress against targets (序时进度) ─────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class MonthStatus:
    """One month of a region's reporting, as its monthly-report deliverable stands."""

    month: date
    original_due: date
    due: date
    state: str
    submitted_on: date | None  # local date of the submission that counts (None: not handed in)

    def elapsed(self, today: date) -> bool:
        """Its figures should be in: the report's original due date has passed."""
        return self.original_due < today

    def missing(self, today: date) -> bool:
        """Past its (possibly extended) due date and not handed in, or returned and not handed in again."""
        return self.due < today and self.state in ("open", "returned")

    @property
    def on_time(self) -> bool:
        return (self.state in ("submitted", "accepted") and self.submitted_on is not None
                and self.submitted_on <= self.original_due)


@dataclass(frozen=True)
class Progress:
    """A region (or the whole plan) against one target over one period, as of a day."""

    target: int
    actual: int
    months: int  # months of the period (monthly reports owed in it)
    months_elapsed: int  # whose report is due by now
    months_missing: tuple[str, ...] = ()  # elapsed months without figures, as 2020-03
    months_on_time: int = 0

    @property
    def expected(self) -> float:
        """序时进度: the target times the elapsed share of the period."""
        return self.target * self.months_elapsed / self.months if self.months else 0.0

    @property
    def done(self) -> float | None:
        """Share of the target achieved (may exceed 1)."""
        return self.actual / self.target if self.target else None

    @property
    def behind(self) -> bool:
        return self.actual < self.expected

    @property
    def light(self) -> str:
        """Red: a report is missing; yellow: behind the expected-to-date progress; green: on track."""
        if self.months_missing:
            return "red"
        return "yellow" if self.behind else "green"


def period_progress(target: int, actual: int, months: Sequence[MonthStatus], today: date) -> Progress:
    return Progress(target, actual, len(months), sum(m.elapsed(today) for m in months),
                    tuple(month_key(m.month) for m in months if m.missing(today)),
                    sum(m.on_time for m in months))


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def share_met(part: int, whole: int, at_least_percent: float) -> bool | None:
    """The minimum-share rule (企业职工 ≥ 50% of the region's total); None while nothing is reported."""
    return None if not whole else part * 100 >= at_least_percent * whole
