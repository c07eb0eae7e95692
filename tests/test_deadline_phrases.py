"""Reading 完成时限 texts into deadline rules: every form, the seed plan's cells, and the refusals."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from responsibilities.deadlines.phrases import DeadlinePhraseError, parse_deadline
from responsibilities.deadlines.rules import (
    AfterEvent,
    External,
    Fixed,
    Ongoing,
    Periodic,
    Stage,
    Staged,
    first_due,
    periodic_dues,
    rule_to_json,
)


# Expected rules are written without their text; the test fills in the phrase itself, since every
# rule must carry the text exactly as it was passed in.
def fixed(due: str, action: str | None = None):
    return lambda text: Fixed(text, date.fromisoformat(due), action)


def ongoing(start: str | None = None, end: str | None = None):
    return lambda text: Ongoing(text, start and date.fromisoformat(start), end and date.fromisoformat(end))


def periodic(every: str, due_month: int, due_day: int | None):
    return lambda text: Periodic(text, every, due_month, due_day)


def after(event: str, offset: int, unit: str):
    return lambda text: AfterEvent(text, event, offset, unit)


def external(body: str | None = None):
    return lambda text: External(text, body)


def staged(*stages: tuple[str, str, object]):
    """(label, segment, expected rule builder) per stage."""
    return lambda text: Staged(text, tuple(Stage(label, build(seg)) for label, seg, build in stages))


# -- the seed plan (贵政办发〔2019〕24号): every distinct 完成时限 cell, verbatim ---------------------

SEED_CELLS = [
    ("2019年 12月31日前", fixed("2019-12-31")),
    ("持续推进", ongoing()),
    ("2019年 10月15日前", fixed("2019-10-15")),
    ("自治区相关文件下发后一个月内完成", after("自治区相关文件下发", 1, "month")),
    ("第一批目录2019年10月31日前发布", fixed("2019-10-31", "发布")),
    ("2019年10月31日前", fixed("2019-10-31")),
    ("按自治区要求上报", external("自治区")),
    ("2019年9月30日前", fixed("2019-09-30")),
]

# Deadlines stated in the body text of the same plan.
SEED_BODY_PHRASES = [
    ("2019年11月1日—2021年12月31日", ongoing("2019-11-01", "2021-12-31")),
    ("每年12月底", periodic("year", 12, None)),
    ("2021年年底", fixed("2021-12-31")),
    ("次月5日前", periodic("month", 2, 5)),
    ("各县(市、区)月报表由当地人力资源社会保障局于次月5日前报送市人力资源社会保障局。", periodic("month", 2, 5)),
    ("2019年10月底前", fixed("2019-10-31")),
    ("到2021年底", fixed("2021-12-31")),
]


@pytest.mark.parametrize(("text", "expected"), SEED_CELLS + SEED_BODY_PHRASES)
def test_seed_plan_deadlines_read_as_their_rules(text, expected):
    assert parse_deadline(text) == expected(text)


# -- fixed dates -------------------------------------------------------------------------------

FIXED = [
    ("2019年10月31日", None, fixed("2019-10-31")),
    ("10月31日前", 2019, fixed("2019-10-31")),
    ("10月底前", 2020, fixed("2020-10-31")),
    ("10月底", 2019, fixed("2019-10-31")),
    ("10月末", 2019, fixed("2019-10-31")),
    ("2020年2月底前", None, fixed("2020-02-29")),
    ("2019年12月上旬", None, fixed("2019-12-10")),
    ("2019年12月中旬", None, fixed("2019-12-20")),
    ("2019年11月下旬", None, fixed("2019-11-30")),
    ("2019年底前", None, fixed("2019-12-31")),
    ("年底前", 2020, fixed("2020-12-31")),
    ("年底", 2020, fixed("2020-12-31")),
    ("年内", 2019, fixed("2019-12-31")),
    ("全年", 2019, fixed("2019-12-31")),
    ("本年度内", 2021, fixed("2021-12-31")),
    ("上半年", 2020, fixed("2020-06-30")),
    ("下半年", 2020, fixed("2020-12-31")),
    ("2020年上半年", None, fixed("2020-06-30")),
    ("第一季度", 2020, fixed("2020-03-31")),
    ("第二季度", 2020, fixed("2020-06-30")),
    ("第三季度", 2020, fixed("2020-09-30")),
    ("第四季度", 2020, fixed("2020-12-31")),
    ("一季度", 2020, fixed("2020-03-31")),
    ("三季度末", 2020, fixed("2020-09-30")),
    ("三季度底", 2020, fixed("2020-09-30")),
    ("三季度内", 2020, fixed("2020-09-30")),
    ("2020年完成", None, fixed("2020-12-31", "完成")),
    ("力争2019年底前基本完成", None, fixed("2019-12-31", "基本完成")),
    # Chinese numerals
    ("十二月底", 2019, fixed("2019-12-31")),
    ("二〇一九年十月三十一日前", None, fixed("2019-10-31")),
    ("2020年二月二十八日前", None, fixed("2020-02-28")),
    # full width, spaces, trailing punctuation
    ("２０１９年１０月３１日前", None, fixed("2019-10-31")),
    ("2019 年 10 月 31 日 前", None, fixed("2019-10-31")),
    ("2019年10月31日前。", None, fixed("2019-10-31")),
    ("2019年10月31日前；", None, fixed("2019-10-31")),
    # a verb after the date is the action
    ("5月底前动工", 2020, fixed("2020-05-31", "动工")),
    ("9月投入使用", 2020, fixed("2020-09-30", "投入使用")),
    ("年内见成效", 2021, fixed("2021-12-31", "见成效")),  # an implementation plan's way of saying "this year"
    ("6月底完成", 2020, fixed("2020-06-30", "完成")),
    ("2019年10月31日前发布", None, fixed("2019-10-31", "发布")),
    ("2019年11月30日前报送", None, fixed("2019-11-30", "报送")),
    ("年底前上报", 2019, fixed("2019-12-31", "上报")),
]


@pytest.mark.parametrize(("text", "year", "expected"), FIXED)
def test_fixed_phrase_reads_as_one_due_date(text, year, expected):
    assert parse_deadline(text, year=year) == expected(text)


# -- ongoing -----------------------------------------------------------------------------------

ONGOING = [
    ("长期坚持", ongoing()),
    ("长期", ongoing()),
    ("持续开展", ongoing()),
    ("常态化推进", ongoing()),
    ("持续实施", ongoing()),
    ("2019年11月1日至2021年12月31日", ongoing("2019-11-01", "2021-12-31")),
    ("2019年11月—2021年12月", ongoing("2019-11-01", "2021-12-31")),
    ("2019-2021年", ongoing("2019-01-01", "2021-12-31")),
    ("2019—2021年持续推进", ongoing("2019-01-01", "2021-12-31")),
    ("2019年10月~12月", ongoing("2019-10-01", "2019-12-31")),
]


@pytest.mark.parametrize(("text", "expected"), ONGOING)
def test_ongoing_phrase_and_span_read_as_ongoing(text, expected):
    assert parse_deadline(text) == expected(text)


# -- periodic ----------------------------------------------------------------------------------

PERIODIC = [
    ("每月28日前", periodic("month", 1, 28)),
    ("每月底", periodic("month", 1, None)),
    ("每月末", periodic("month", 1, None)),
    ("每月5日前报送上月工作进展情况", periodic("month", 2, 5)),
    ("于次月5日前报送", periodic("month", 2, 5)),
    ("每季度末月20日前", periodic("quarter", 3, 20)),
    ("每季度首月10日前", periodic("quarter", 4, 10)),
    ("季度结束后10日内", periodic("quarter", 4, 10)),
    ("每季度结束后10日内", periodic("quarter", 4, 10)),
    ("每年12月31日前", periodic("year", 12, 31)),
    ("每年十二月底", periodic("year", 12, None)),
    ("每年年底", periodic("year", 12, None)),
    ("每半年", periodic("half_year", 6, None)),
    ("每半年末", periodic("half_year", 6, None)),
    ("每季度", periodic("quarter", 3, None)),
    ("每季末", periodic("quarter", 3, None)),
    ("每年1月底前报送上年度工作总结", periodic("year", 13, None)),
]


@pytest.mark.parametrize(("text", "expected"), PERIODIC)
def test_periodic_phrase_reads_as_a_due_day_per_period(text, expected):
    assert parse_deadline(text) == expected(text)


# -- after an event ----------------------------------------------------------------------------

AFTER_EVENT = [
    ("会后7日内", after("会议", 7, "day")),
    ("会议结束后3个工作日内", after("会议结束", 3, "working_day")),
    ("收到通知后5个工作日内", after("收到通知", 5, "working_day")),
    ("文件印发后30日内", after("文件印发", 30, "day")),
    ("自文件印发之日起30日内", after("文件印发", 30, "day")),
    ("5个工作日内", after("交办", 5, "working_day")),
    ("10日内", after("交办", 10, "day")),
    ("15天内", after("交办", 15, "day")),
    ("三个工作日内", after("交办", 3, "working_day")),
    ("一个月内", after("交办", 1, "month")),
    ("两个月内", after("交办", 2, "month")),
    ("二十个工作日内", after("交办", 20, "working_day")),
]


@pytest.mark.parametrize(("text", "expected"), AFTER_EVENT)
def test_after_event_phrase_reads_as_an_offset_from_the_event(text, expected):
    assert parse_deadline(text) == expected(text)


# -- set from outside --------------------------------------------------------------------------

EXTERNAL = [
    ("按上级要求", external("上级")),
    ("按市政府要求", external("市政府")),
    ("根据自治区部署", external("自治区")),
    ("按照自治区有关要求报送", external("自治区")),
    ("另行通知", external()),
    ("时间另行通知", external()),
    ("视情况适时发布", external()),
    ("适时", external()),
]


@pytest.mark.parametrize(("text", "expected"), EXTERNAL)
def test_external_phrase_reads_as_set_from_outside(text, expected):
    assert parse_deadline(text) == expected(text)


# -- staged ------------------------------------------------------------------------------------

STAGED = [
    (
        "第一批培训机构目录清单2019年10月31日前发布,其他批次视情况适时发布",
        staged(
            ("第一批培训机构目录清单", "第一批培训机构目录清单2019年10月31日前发布", fixed("2019-10-31", "发布")),
            ("其他批次", "其他批次视情况适时发布", external()),
        ),
    ),
    (
        "2020年5月底前动工,2020年9月投入使用",
        staged(
            ("动工", "2020年5月底前动工", fixed("2020-05-31", "动工")),
            ("投入使用", "2020年9月投入使用", fixed("2020-09-30", "投入使用")),
        ),
    ),
    (
        "2020年5月底前动工，9月投入使用。",
        staged(
            ("动工", "2020年5月底前动工", fixed("2020-05-31", "动工")),
            ("投入使用", "9月投入使用", fixed("2020-09-30", "投入使用")),
        ),
    ),
    (
        "2019年11月底前制定方案；2020年6月底前完成试点；2020年12月底前全面完成",
        staged(
            ("制定方案", "2019年11月底前制定方案", fixed("2019-11-30", "制定")),
            ("完成试点", "2020年6月底前完成试点", fixed("2020-06-30", "完成")),
            ("全面完成", "2020年12月底前全面完成", fixed("2020-12-31", "全面完成")),
        ),
    ),
    (
        "每月5日前报送上月进展, 年底前报送全年总结",
        staged(
            ("报送上月进展", "每月5日前报送上月进展", periodic("month", 2, 5)),
            ("报送全年总结", "年底前报送全年总结", fixed("2019-12-31", "报送")),
        ),
    ),
]


@pytest.mark.parametrize(("text", "expected"), STAGED)
def test_several_stages_in_one_cell_read_as_staged(text, expected):
    assert parse_deadline(text, year=2019) == expected(text)


def test_later_stage_without_a_year_takes_the_year_of_the_stage_before():
    rule = parse_deadline("2021年3月底前动工,9月投入使用", year=2019)
    assert [s.rule.due for s in rule.stages] == [date(2021, 3, 31), date(2021, 9, 30)]


def test_labelled_single_date_is_fixed_not_staged():
    assert parse_deadline("第一批目录2019年10月31日前发布") == Fixed(
        "第一批目录2019年10月31日前发布", date(2019, 10, 31), "发布"
    )


def test_staged_rule_serialises_with_its_stages_nested():
    text = "第一批培训机构目录清单2019年10月31日前发布,其他批次视情况适时发布"
    assert rule_to_json(parse_deadline(text)) == {
        "kind": "staged",
        "text": text,
        "stages": [
            {
                "label": "第一批培训机构目录清单",
                "rule": {
                    "kind": "fixed",
                    "text": "第一批培训机构目录清单2019年10月31日前发布",
                    "due": "2019-10-31",
                    "action": "发布",
                },
            },
            {"label": "其他批次", "rule": {"kind": "external", "text": "其他批次视情况适时发布", "body": None}},
        ],
    }


# -- years -------------------------------------------------------------------------------------


def test_yearless_phrase_takes_the_context_year():
    assert parse_deadline("10月底前", year=2020).due == date(2020, 10, 31)


def test_stated_year_wins_over_the_context_year():
    assert parse_deadline("2019年10月底前", year=2021).due == date(2019, 10, 31)


def test_yearless_phrase_without_a_context_year_says_so():
    with pytest.raises(DeadlinePhraseError, match="no year and no context year"):
        parse_deadline("10月底前")


def test_rule_keeps_the_text_exactly_as_given():
    text = " ２０１９年 １０月３１日前。"
    assert parse_deadline(text).text == text


# -- refusals ----------------------------------------------------------------------------------

UNREADABLE = [
    ("", None, "empty"),
    ("尽快", 2019, "no date, period or known phrase"),
    ("下周找时间", 2019, "no date, period or known phrase"),
    ("2019年13月1日前", None, "month 13 does not exist"),
    ("2019年2月30日前", None, "2019-02 has no day 30"),
    ("13月底", 2019, "month 13"),
    ("10月底前", None, "no year"),
    ("每月", 2019, "period but no due day"),
    ("每年", 2019, "period but no due day"),
    ("2019年10月31日前 and then something", None, '"andthensomething" after the date'),
    ("2019年10月31日前全面推开", None, '"全面推开" after the date'),
    ("10月前", 2019, "ambiguous"),  # before October starts, or before it ends?
    ("第三季度前", 2019, "ambiguous"),
    ("2021年12月—2019年1月", None, "ends"),
    ("12月下旬,1月中旬", 2019, "would fall before stage 1"),  # crosses a year it does not state
    ("2019年10月31日前发布,下周找时间", None, 'stage 2 "下周找时间"'),
    ("0日内", None, "zero"),
    ("每月32日前", None, "day 32"),
    ("季度结束后45日内", None, "45 days"),
    ("0019年10月31日前", None, "year 19 is out of range"),
]


@pytest.mark.parametrize(("text", "year", "reason"), UNREADABLE)
def test_unreadable_text_raises_an_error_quoting_it(text, year, reason):
    with pytest.raises(DeadlinePhraseError) as caught:
        parse_deadline(text, year=year)
    message = str(caught.value)
    assert f'cannot read deadline "{text}"' in message
    assert reason in message
    assert caught.value.text == text


def test_deadline_phrase_error_is_a_value_error():
    assert issubclass(DeadlinePhraseError, ValueError)


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="0123456789０年月日前底末旬季度第一二十每次首后内个工作天"
                     "会按要求持续推进适时发布完成,。—至 x", max_size=16),
    st.one_of(st.none(), st.integers(1990, 2030)),
)
def test_any_text_either_reads_keeping_its_text_or_raises_quoting_it(text, year):
    try:
        rule = parse_deadline(text, year=year)
    except DeadlinePhraseError as err:
        assert f'"{text}"' in str(err)
    else:
        assert rule.text == text


# -- first_due and periodic_dues over parsed rules ----------------------------------------------

FIRST_DUE = [
    ("2019年10月31日前", "2019-10-01", "2019-10-31"),
    ("2019年10月31日前", "2019-10-31", "2019-10-31"),
    ("2019年10月31日前", "2019-11-01", None),
    ("次月5日前", "2019-11-06", "2019-12-05"),
    ("次月5日前", "2019-11-05", "2019-11-05"),
    ("每季度末月20日前", "2020-03-21", "2020-06-20"),
    ("季度结束后10日内", "2019-10-11", "2020-01-10"),
    ("每月底", "2020-02-10", "2020-02-29"),
    ("每年12月底", "2019-10-23", "2019-12-31"),
    ("每年12月底", "2020-01-01", "2020-12-31"),
    ("第一批培训机构目录清单2019年10月31日前发布,其他批次视情况适时发布", "2019-10-01", "2019-10-31"),
    ("2020年5月底前动工,9月投入使用", "2020-01-01", "2020-05-31"),
    ("2020年5月底前动工,9月投入使用", "2020-06-01", "2020-09-30"),
    ("持续推进", "2019-10-01", None),
    ("2019年11月1日—2021年12月31日", "2019-10-01", None),
    ("自治区相关文件下发后一个月内完成", "2019-10-01", None),
    ("按自治区要求上报", "2019-10-01", None),
]


@pytest.mark.parametrize(("text", "on_or_after", "expected"), FIRST_DUE)
def test_first_due_is_the_next_date_the_rule_itself_states(text, on_or_after, expected):
    due = first_due(parse_deadline(text, year=2019), on_or_after=date.fromisoformat(on_or_after))
    assert due == (expected and date.fromisoformat(expected))


def test_next_month_fifth_over_the_plan_gives_26_periods_ending_on_5_january_2022():
    dues = periodic_dues(parse_deadline("次月5日前"), date(2019, 11, 1), date(2021, 12, 31))
    assert len(dues) == 26
    assert dues[0] == (date(2019, 11, 1), date(2019, 12, 5))
    assert dues[-1] == (date(2021, 12, 1), date(2022, 1, 5))


def test_an_offset_longer_than_any_plan_runs_is_refused_as_a_typo():
    with pytest.raises(DeadlinePhraseError, match="longer than any work plan runs"):
        parse_deadline("自治区相关文件下发后99999999999个月内")
