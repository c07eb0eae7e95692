"""Items the office assigns by hand (交办事项): how the deadline phrase reads, before anything is saved.

Pure: ``today`` is an argument. The phrase goes through the plan's own deadline parser; a phrase it cannot read is
refused, never guessed, and so is one that dates nothing by itself (持续推进, 待上级通知后) or is already past:
an item needs a date a person can be reminded of and chased for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from responsibilities.deadlines.phrases import DeadlinePhraseError, parse_deadline
from responsibilities.deadlines.rules import Fixed, Periodic, periodic_dues
from responsibilities.plan.deliverables import ONCE, Slot, period_key
from responsibilities.vocabulary import EVERY_NAMES

# --repeat: what the office may ask for besides the phrase's own cadence.
REPEATS = {"monthly": "month", "quarterly": "quarter"}
MAX_PHRASE = 100  # a deadline phrase is a short line (2020年3月底前, 每季度结束后10日内)


class ItemDeadlineInvalid(ValueError):
    """The phrase does not give an item a date: the message says why, in Chinese, for the person who typed it."""


@dataclass(frozen=True)
class Reading:
    """What the office's deadline phrase means: the rule, and each deliverable it dates (first due first)."""

    phrase: str
    rule: Fixed | Periodic
    slots: tuple[Slot, ...]

    @property
    def first_due(self) -> date:
        return self.slots[0].due

    @property
    def recurring(self) -> bool:
        return isinstance(self.rule, Periodic)

    def describe(self) -> str:
        """The reading as the form and the command line show it: 2020年3月底前 → 2020-03-31."""
        dues = [s.due.isoformat() for s in self.slots]
        if len(dues) == 1:
            return f"{self.phrase} → {dues[0]}"
        shown = "、".join(dues[:4]) + ("…" if len(dues) > 4 else "")
        return f"{self.phrase} → 共 {len(dues)} 期:{shown}(至 {dues[-1]})"


def read_item_deadline(phrase: str, *, today: date, repeat: str | None = None, until: date | None = None) -> Reading:
    """The deliverables an item with this deadline owes from ``today`` to ``until`` (default: the end of today's
    year, the standing plan's). ``repeat`` (monthly | quarterly) turns a date into its cadence from that date on."""
    phrase = (phrase or "").strip()
    if not phrase:
        raise ItemDeadlineInvalid("请填写完成时限,例如 2020年3月底前、每月5日前")
    if len(phrase) > MAX_PHRASE:
        raise ItemDeadlineInvalid(f"完成时限最多 {MAX_PHRASE} 个字")
    if repeat is not None and repeat not in REPEATS:
        raise ItemDeadlineInvalid(f"重复周期“{repeat}”无法识别:可选 monthly(每月)、quarterly(每季度)")
    until = until or date(today.year, 12, 31)
    first = today
    try:
        rule = parse_deadline(phrase, year=today.year)
    except DeadlinePhraseError:
        raise ItemDeadlineInvalid(f"无法识别完成时限“{phrase}”:请写明日期或周期,例如 2020年3月底前、6月30日前、"
                                  "每月5日前;系统不会猜测日期") from None
    if isinstance(rule, Fixed):
        if rule.due < today:
            raise ItemDeadlineInvalid(f"完成时限“{phrase}”读作 {rule.due},已经过去(今天是 {today}):请填写今后的日期")
        if repeat is None:
            return Reading(phrase, rule, (Slot(ONCE, rule.due),))
        first, rule = rule.due, _cadence(rule, REPEATS[repeat])
    elif not isinstance(rule, Periodic):
        raise ItemDeadlineInvalid(f"完成时限“{phrase}”没有具体日期(类型:{rule.kind}):交办事项须写明日期或周期,"
                                  "例如 2020年3月底前、每月5日前")
    elif repeat is not None and REPEATS[repeat] != rule.every:
        every = EVERY_NAMES.get(rule.every, rule.every)
        raise ItemDeadlineInvalid(f"完成时限“{phrase}”本身为{every},与 --repeat {repeat} 不一致")
    slots = _periodic_slots(rule, first, until)
    if not slots:
        raise ItemDeadlineInvalid(f"完成时限“{phrase}”在 {today} 至 {until} 之间没有到期日")
    return Reading(phrase, rule, tuple(slots))


def _cadence(first: Fixed, every: str) -> Periodic:
    """A date repeated every month or quarter: the same day of the same month of each period (month-end stays
    month-end)."""
    months = 1 if every == "month" else 3
    due_month = (first.due.month - 1) % months + 1
    month_end = (first.due + timedelta(days=1)).month != first.due.month
    return Periodic(f"{first.text}({EVERY_NAMES[every]})", every, due_month,
                    None if month_end else first.due.day)


def _periodic_slots(rule: Periodic, first: date, until: date) -> list[Slot]:
    """The periods from ``first``'s year to ``until`` whose due date is on or after ``first``."""
    step = 1 if rule.every == "month" else 3 if rule.every == "quarter" else 6 if rule.every == "half_year" else 12
    slots = []
    for start, due in periodic_dues(rule, date(first.year, 1, 1), until):
        if first <= due:
            end_year, end_month = divmod(start.month - 1 + step, 12)
            end = date(start.year + end_year, end_month + 1, 1) - timedelta(days=1)
            slots.append(Slot(period_key(rule.every, start), due, start, end))
    return slots

