"""Reading a 完成时限 cell into a deadline rule (DESIGN.md §4).

``parse_deadline("2019年10月31日前")`` gives ``Fixed(due=2019-10-31)``. The reader never guesses:
every character of the cell must be accounted for by one of the forms below, or the cell is a
``DeadlinePhraseError`` that quotes it. Forms, tried in this order (first full match wins):

- span      2019年11月1日—2021年12月31日, 2019年11月—2021年12月, 2019-2021年 (→ Ongoing with dates)
- ongoing   持续推进, 长期坚持, 常态化推进 …
- external  按自治区要求上报, 根据自治区部署, 另行通知, 视情况适时发布 …
- periodic  每月28日前, 次月5日前, 每季度末月20日前, 季度结束后10日内, 每年12月底, 每半年 …
- after     自治区相关文件下发后一个月内完成, 会后7日内, 5个工作日内 (counted from 交办) …
- fixed     2019年10月31日前, 10月底前, 12月中旬, 年底前, 年内, 上半年, 第三季度, 9月投入使用 …

A cell split by ，,；;。 into several parts is ``Staged``; later stages without a year take the
year of the stage before. Rules keep the caller's text verbatim; stages keep their own segment.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Callable, NamedTuple

from responsibilities.deadlines.rules import (
    MONTHS_IN,
    AfterEvent,
    DeadlineRule,
    External,
    Fixed,
    Ongoing,
    Periodic,
    Stage,
    Staged,
    last_day_of_month,
)

__all__ = ["DeadlinePhraseError", "parse_deadline"]


class DeadlinePhraseError(ValueError):
    """A deadline text that cannot be read; the message quotes the text and says why."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        super().__init__(f'cannot read deadline "{text}": {reason}')


class _Unreadable(Exception):
    """Raised inside the reader with the reason only; parse_deadline adds the quoted text."""


class _Hit(NamedTuple):
    rule: DeadlineRule
    label: str  # what the stage delivers: the words before the date, else the verb phrase, else ""
    year_given: bool  # the segment stated its own year (staged cells check that stages go forward)


# --- normalisation -----------------------------------------------------------------------------

_DASHES = re.compile(r"[—–―−\-~～]+")
# 至/到 are range dashes only between two date parts; elsewhere (到2021年底) they mean "by".
_RANGE_WORD = re.compile(r"(?<=[0-9年月日号])[至到](?=[0-9〇零一二三四五六七八九十])")
_TRAILING = re.compile(r"[。；;,，、.]+$")
_STAGE_SPLIT = re.compile(r"[，,；;。]")


def _normalise(text: str) -> str:
    norm = unicodedata.normalize("NFKC", text)  # full-width digits, letters, （）， → ASCII
    norm = re.sub(r"\s+", "", norm)
    norm = _RANGE_WORD.sub("—", _DASHES.sub("—", norm))
    return _TRAILING.sub("", norm)


# --- numbers and dates -------------------------------------------------------------------------

_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}


def _number(s: str) -> int:
    """12, 十二, 二十八, 三十一, 两, 二〇一九 → int; anything else is an error, not a guess."""
    if s.isascii() and s.isdigit():
        return int(s)
    head, ten, tail = s.partition("十")
    if ten and "十" not in tail and len(head) <= 1 and len(tail) <= 1:
        if all(c in _DIGITS for c in head + tail) and head not in ("零", "〇"):
            return (_DIGITS[head] if head else 1) * 10 + (_DIGITS[tail] if tail else 0)
    elif not ten and all(c in _DIGITS for c in s):
        return int("".join(str(_DIGITS[c]) for c in s))
    raise _Unreadable(f'the number "{s}" is not understood')


def _date(year: int, month: int, day: int | None) -> date:
    """A valid date; day None is the month's last day."""
    if not 1900 <= year <= 2199:  # 0019年 is a typo, not a date to schedule
        raise _Unreadable(f"year {year} is out of range")
    if not 1 <= month <= 12:
        raise _Unreadable(f"month {month} does not exist")
    last = last_day_of_month(year, month)
    if day is not None and not 1 <= day <= last:
        raise _Unreadable(f"{year}-{month:02d} has no day {day}")
    return date(year, month, last if day is None else day)


def _year(m: re.Match, context: int | None, group: str = "y") -> int:
    if m.groupdict().get(group):
        return _number(m[group])
    if context is None:
        raise _Unreadable("it has no year and no context year was given")
    return context


def _day_of_month(m: re.Match) -> int | None:
    """The day part of a match: 28日 → 28, 上旬 → 10, 中旬 → 20, 底/末/下旬/nothing → None (month end)."""
    if m["d"]:
        day = _number(m["d"])
        if not 1 <= day <= 31:
            raise _Unreadable(f"day {day} does not exist")
        return day
    return {"上": 10, "中": 20}.get(m["xun"] or "")


# --- shared regex pieces (matched against the normalised text) ----------------------------------

NUM = r"[0-9零〇一二两三四五六七八九十]+"
YEAR = r"(?P<y>[0-9]{4}|[零〇一二三四五六七八九]{4})"
DAY = rf"(?:(?P<d>{NUM})[日号]|(?P<end>[底末])|(?P<xun>[上中下])旬)"
CJK = r"[\u4e00-\u9fff()、“”《》.·]"  # label/object characters: no digits, no dashes, no ASCII words
# A label names what is delivered (第一批目录). It never holds 每, so 每年12月底 cannot be misread
# as a label "每年" plus a fixed 12月底.
LABEL = rf"(?P<label>(?:(?!每){CJK})*?)"
PREFIX = r"(?:力争|争取|确保)?(?:于|在|截至|截止|到)?"
VERBS = (
    "投入使用", "投入运行", "完成", "发布", "动工", "开工", "完工", "竣工", "建成", "投用", "上报",
    "报送", "提交", "印发", "出台", "制定", "启动", "实施", "到位", "办结", "验收", "上线", "部署", "见成效", "见效",
)
TAIL = rf"(?:(?P<verb>(?:全面|基本|全部|初步)?(?:{'|'.join(VERBS)}))(?P<obj>{CJK}*))?"
BEFORE = r"(?P<before>前|以前|之前)?"
ONGOING_WORDS = r"(?:持续|长期|常态化)(?:推进|坚持|开展|实施|抓好|落实|执行|进行)?"


def _dated(body: str) -> re.Pattern:
    """label? prefix? <date body> 前? verb? object? — the shape of every dated phrase."""
    return re.compile(f"{LABEL}{PREFIX}(?P<body>{body}){BEFORE}{TAIL}")


def _phrase(body: str) -> re.Pattern:
    return re.compile(f"{LABEL}(?:{body}){TAIL}")


def _label(m: re.Match) -> str:
    groups = m.groupdict()
    if groups.get("label"):
        return groups["label"]
    return (groups.get("verb") or "") + (groups.get("obj") or "")


def _check_before(m: re.Match) -> None:
    # 前 after a day, 底, 末 or 旬 means "by the end of that day"; after a bare month, year or quarter
    # (10月前, 第三季度前) it could mean before the period starts or before it ends: refuse.
    if m["before"] and m["body"][-1] not in "日号底末旬":
        raise _Unreadable(f'"{m["body"]}{m["before"]}" is ambiguous: before {m["body"]} starts or ends?')


Builder = Callable[[re.Match, str, "int | None"], _Hit]


# --- span → Ongoing(start, end) -----------------------------------------------------------------

def _span(m: re.Match, text: str, year: int | None) -> _Hit:
    g = {k: _number(v) for k, v in m.groupdict().items() if v}
    # Whole months or years run from their first to their last day; 2019年10月—12月 ends in 2019.
    start = _date(g["y1"], g.get("m1", 1), g.get("d1", 1))
    end = _date(g.get("y2", g["y1"]), g.get("m2", 12), g.get("d2"))
    if end < start:
        raise _Unreadable(f"the span ends ({end}) before it starts ({start})")
    return _Hit(Ongoing(text, start, end), "", True)


_Y1, _Y2 = YEAR.replace("<y>", "<y1>"), YEAR.replace("<y>", "<y2>")
SPAN_TAIL = rf"(?:期间|内)?(?:{ONGOING_WORDS})?"
SPAN_RULES: list[tuple[re.Pattern, Builder]] = [
    (re.compile(rf"{_Y1}年?—{_Y2}年{SPAN_TAIL}"), _span),
    (re.compile(
        rf"{_Y1}年(?P<m1>{NUM})月(?:(?P<d1>{NUM})[日号])?—(?:{_Y2}年)?(?P<m2>{NUM})月"
        rf"(?:(?P<d2>{NUM})[日号])?{SPAN_TAIL}"), _span),
]


# --- ongoing and external: fixed phrases, no date -----------------------------------------------

def _ongoing(m: re.Match, text: str, year: int | None) -> _Hit:
    return _Hit(Ongoing(text), _label(m), False)


def _external(m: re.Match, text: str, year: int | None) -> _Hit:
    body = m.groupdict().get("body") or None
    return _Hit(External(text, body), _label(m), False)


ONGOING_RULES: list[tuple[re.Pattern, Builder]] = [
    (re.compile(f"{LABEL}{ONGOING_WORDS}"), _ongoing),
]
EXTERNAL_RULES: list[tuple[re.Pattern, Builder]] = [
    # 按自治区要求 / 根据自治区部署: the body named between the preposition and the noun sets the date.
    (_phrase(rf"(?:按照|按|根据|依照|依据|遵照)(?P<body>{CJK}*?)(?:相关|有关)?的?"
             r"(?:要求|部署|安排|规定|通知)(?:时限|时间)?"), _external),
    (_phrase(r"(?:具体时间|时间|时限|日期)?另行(?:通知|确定|安排)"), _external),
    (_phrase(r"(?:视情况|根据情况|视工作需要|根据工作需要)?适时"), _external),
    (_phrase(r"视情况而定|待定"), _external),
]


# --- periodic -----------------------------------------------------------------------------------

# Words naming the previous period: 每月5日前报送上月 reports on last month, so the due date falls in
# the month after the period, exactly like 次月5日前.
_PREVIOUS = {"month": ("上月", "上个月"), "quarter": ("上季度", "上一季度", "上个季度"),
             "year": ("上年", "上一年")}


def _periodic(every: str, due_month: Callable[[re.Match], int], *, shiftable: bool = False) -> Builder:
    def build(m: re.Match, text: str, year: int | None) -> _Hit:
        _check_before(m)
        month, day = due_month(m), (None if m.groupdict().get("n") else _day_of_month(m))
        if m.groupdict().get("n"):  # 季度结束后10日内: day n of the month after the period
            day = _number(m["n"])
            if not 1 <= day <= 28:  # beyond 28 days it is no longer one day of the next month
                raise _Unreadable(f"{day} days after the period end is not supported")
        if shiftable and (m["obj"] or "").startswith(_PREVIOUS.get(every, ())):
            month += MONTHS_IN[every]
        return _Hit(Periodic(text, every, month, day), _label(m), False)
    return build


def _after_period(m: re.Match, text: str, year: int | None) -> _Hit:
    unit = {"月": "month", "季度": "quarter", "季": "quarter", "半年": "half_year"}.get(m["unit"], "year")
    return _periodic(unit, lambda _: MONTHS_IN[unit] + 1)(m, text, year)


def _month_no(m: re.Match) -> int:
    month = _number(m["m"])
    if not 1 <= month <= 12:
        raise _Unreadable(f"month {month} does not exist")
    return month


PERIODIC_RULES: list[tuple[re.Pattern, Builder]] = [
    (_dated(rf"每月{DAY}"), _periodic("month", lambda m: 1, shiftable=True)),
    (_dated(rf"(?:每月)?次月{DAY}"), _periodic("month", lambda m: 2)),
    (_dated(rf"每季度?末月{DAY}"), _periodic("quarter", lambda m: 3)),
    # 首月 is the first month of the NEXT quarter: the 4th month counted from the period's first.
    (_dated(rf"每季度?首月{DAY}"), _periodic("quarter", lambda m: 4)),
    (_dated(r"每季度?(?P<end>[末底])?(?P<d>)(?P<xun>)"), _periodic("quarter", lambda m: 3, shiftable=True)),
    (_dated(rf"每?(?P<unit>月|季度|季|半年|年度|年)(?:结束|终了)后(?P<n>{NUM})[日天]内"), _after_period),
    (_dated(rf"每年(?P<m>{NUM})月{DAY}?"), _periodic("year", _month_no, shiftable=True)),
    (_dated(r"每年年?(?P<end>[底末])(?P<d>)(?P<xun>)"), _periodic("year", lambda m: 12, shiftable=True)),
    (_dated(r"每半年(?P<end>[末底])?(?P<d>)(?P<xun>)"), _periodic("half_year", lambda m: 6)),
]


# --- after an event -----------------------------------------------------------------------------

OFFSET = rf"(?P<n>{NUM})(?P<unit>个工作日|工作日|个月|个自然日|自然日|日|天|个星期|星期|周)(?:以)?内"
_UNITS = {"个工作日": "working_day", "工作日": "working_day", "个月": "month"}
_EVENT_ALIASES = {"会": "会议"}
_LONGEST = {"day": 3660, "working_day": 2500, "month": 120}  # 会后7日内: "会" alone is the meeting


def _after_event(m: re.Match, text: str, year: int | None) -> _Hit:
    n, unit = _number(m["n"]), _UNITS.get(m["unit"], "day")
    if m["unit"] in ("个星期", "星期", "周"):
        n *= 7  # weeks are exact days: no guess involved
    if n <= 0:
        raise _Unreadable("the time allowed is zero")
    if n > _LONGEST[unit]:  # beyond ten years it is a typo, and would overflow date arithmetic
        raise _Unreadable(f"{n} {unit.replace('_', ' ')}s is longer than any work plan runs")
    event = m.groupdict().get("event") or "交办"  # a bare 5个工作日内 counts from assignment (交办)
    return _Hit(AfterEvent(text, _EVENT_ALIASES.get(event, event), n, unit), _label(m), False)


AFTER_EVENT_RULES: list[tuple[re.Pattern, Builder]] = [
    (re.compile(rf"(?:于|在)?(?P<event>{CJK}+?)(?:以后|后)的?{OFFSET}{TAIL}"), _after_event),
    # 自文件印发之日起30日内; (?!治区) keeps 自治区… from losing its 自 to the preposition.
    (re.compile(rf"(?:自|从)(?!治区)(?P<event>{CJK}+?)(?:之日起|起)的?{OFFSET}{TAIL}"), _after_event),
    (re.compile(rf"{PREFIX}{OFFSET}{TAIL}"), _after_event),
]


# --- fixed --------------------------------------------------------------------------------------

def _fixed(resolve: Callable[[re.Match, int], date]) -> Builder:
    def build(m: re.Match, text: str, year: int | None) -> _Hit:
        _check_before(m)
        due = resolve(m, _year(m, year))
        return _Hit(Fixed(text, due, m["verb"] or None), _label(m), bool(m.groupdict().get("y")))
    return build


def _quarter_end(m: re.Match, y: int) -> date:
    return _date(y, _number(m["q"]) * 3, None)


def _year_end(m: re.Match, y: int) -> date:
    return _date(y, 12, None)


FIXED_RULES: list[tuple[re.Pattern, Builder]] = [
    # 10月31日 / 10月底 / 10月末 / 12月中旬 / 9月(份): a bare month is due at its end.
    (_dated(rf"(?:{YEAR}年)?(?P<m>{NUM})月份?{DAY}?"),
     _fixed(lambda m, y: _date(y, _month_no(m), _day_of_month(m)))),
    (_dated(rf"(?:{YEAR}年年?|年)[底末]"), _fixed(_year_end)),
    (_dated(rf"(?:{YEAR}年度?|本年度?|当年|年度?)内"), _fixed(_year_end)),
    (_dated(rf"(?:{YEAR}年|本年度?)?全年"), _fixed(_year_end)),
    (_dated(rf"(?:{YEAR}年)?(?P<half>[上下])半年[底末]?"),
     _fixed(lambda m, y: _date(y, 6 if m["half"] == "上" else 12, None))),
    (_dated(rf"(?:{YEAR}年)?第?(?P<q>[一二三四1-4])季度[末底内]?"), _fixed(_quarter_end)),
    (_dated(rf"{YEAR}年度?"), _fixed(_year_end)),  # 2020年完成: within 2020
]

RULES = SPAN_RULES + ONGOING_RULES + EXTERNAL_RULES + PERIODIC_RULES + AFTER_EVENT_RULES + FIXED_RULES


# --- explaining a miss --------------------------------------------------------------------------

_DATE_HINT = re.compile(
    rf"(?:[0-9]{{4}}年)?{NUM}月(?:{NUM}[日号]|[底末]|[上中下]旬)?(?:前|以前|之前)?|[0-9]{{4}}年(?:[底末]前?)?")


def _explain(norm: str) -> str:
    if not norm:
        return "it is empty"
    hint = _DATE_HINT.search(norm)
    if hint:
        before, after = norm[: hint.start()], norm[hint.end():]
        if after:
            return f'"{after}" after the date is not a known verb or phrase'
        if before:
            return f'"{before}" before the date is not understood'
    if "每" in norm:
        return "it names a period but no due day in it"
    return "no date, period or known phrase in it"


# --- entry points -------------------------------------------------------------------------------

def _parse_one(text: str, year: int | None) -> _Hit:
    norm = _normalise(text)
    for pattern, build in RULES:
        m = pattern.fullmatch(norm)
        if m:
            return build(m, text, year)
    raise _Unreadable(_explain(norm))


def _parse_staged(text: str, segments: list[str], year: int | None) -> Staged:
    stages: list[Stage] = []
    context, previous = year, None
    for index, segment in enumerate(segments, 1):
        try:
            hit = _parse_one(segment, context)
        except _Unreadable as err:
            raise _Unreadable(f'stage {index} "{segment}": {err}') from None
        if isinstance(hit.rule, Fixed):
            # A yearless later stage inherits the year before it; if that puts it before the
            # previous stage (12月下旬, 1月中旬), the cell crosses a year we would have to guess.
            if previous and not hit.year_given and hit.rule.due < previous:
                raise _Unreadable(
                    f'stage {index} "{segment}" has no year and would fall before stage {index - 1}')
            context, previous = hit.rule.due.year, hit.rule.due
        stages.append(Stage(hit.label, hit.rule))
    return Staged(text, tuple(stages))


def parse_deadline(text: str, *, year: int | None = None) -> DeadlineRule:
    """The rule a 完成时限 text states; ``year`` is the year for phrases without one (10月底前)."""
    try:
        segments = [s.strip() for s in _STAGE_SPLIT.split(text) if s.strip()]
        if len(segments) <= 1:
            return _parse_one(text, year).rule
        return _parse_staged(text, segments, year)
    except _Unreadable as err:
        raise DeadlinePhraseError(text, str(err)) from None
