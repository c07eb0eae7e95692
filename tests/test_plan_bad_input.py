"""Every malformed plan gets problems a person can act on: file:line:column, the field, a message.

The cases edit the real seed plan (deadlines.yaml) in one place each, so they keep testing the file
people actually edit. Expected lines are found from a marker in the edited text, never hard-coded.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from responsibilities.plan.loader import load_plan
from responsibilities.plan.yaml_reader import PlanInvalid, Problem

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "deadlines.yaml"
SEED_TEXT = SEED.read_text(encoding="utf-8")


# ── helpers ──────────────────────────────────────────────────────────────────────────────────────


def edit(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced once; ``old`` must occur exactly once, so no edit misses silently."""
    assert text.count(old) == 1, f"the plan contains {old!r} {text.count(old)} times, expected once"
    return text.replace(old, new, 1)


def write_plan(tmp_path: Path, *edits: tuple[str, str]) -> tuple[Path, str]:
    """A copy of the seed plan in tmp_path with the edits applied: its path and its text."""
    text = SEED_TEXT
    for old, new in edits:
        text = edit(text, old, new)
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text


def problems_of(path: Path) -> list[Problem]:
    """The problems load_plan reports for ``path``; fails the test if the plan loads."""
    with pytest.raises(PlanInvalid) as refused:
        load_plan(path)
    problems = refused.value.problems
    assert problems, "PlanInvalid must carry at least one problem"
    return problems


def problems_after(tmp_path: Path, old: str, new: str) -> tuple[list[Problem], Path, str]:
    """Copy the seed plan with one edit, load it, and return its problems, path and text."""
    path, text = write_plan(tmp_path, (old, new))
    return problems_of(path), path, text


def line_of(text: str, marker: str) -> int:
    """The 1-based line on which ``marker`` starts; the marker must be unique in ``text``."""
    assert text.count(marker) == 1, f"marker {marker!r} occurs {text.count(marker)} times, expected once"
    return text.count("\n", 0, text.index(marker)) + 1


def field_matches(pattern: str, field: str) -> bool:
    """Exact match, where ``*`` stands for any text (list indexes that move when the seed grows)."""
    return re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), field) is not None


def listing(problems: list[Problem]) -> str:
    return "\n".join(str(p) for p in problems)


# ── one edit, one problem: where it is, which field, what to do ──────────────────────────────────

CO_UNITS_WORK_1 = "    co_units: [hrss, union, miit,"
HRSS_9_LEAD = '    lead: hrss\n    task: "负责汇总'
MA_KE = "    - {id: ma-ke, name: 马珂, title: 市公安局副局长, unit: public-security, email: ma-ke@guigang.example}\n"


def case(case_id: str, old: str, new: str, field: str, message: str, at: str | None = None):
    """One row: an edit, the field (``*`` = any text), a message fragment, and a marker for the line
    the problem must name (default: the new text itself)."""
    return pytest.param(old, new, field, message, at if at is not None else new, id=case_id)


CASES = [
    # unknown, missing and repeated keys
    case("an unknown top-level key suggests the section it resembles",
         "\nevents:\n", "\nevent: []\nevents:\n", "event", 'unknown key; did you mean "events"?', at="event: []"),
    case("an unknown nested key suggests the right key",
         CO_UNITS_WORK_1, CO_UNITS_WORK_1.replace("co_units:", "co_unit:"),
         "obligations[work-1].co_unit", 'unknown key; did you mean "co_units"?', at="co_unit:"),
    case("an unknown key with no close match lists the allowed keys",
         "  time_zone: Asia/Shanghai\n", "  time_zone: Asia/Shanghai\n  colour: red\n",
         "plan.colour", "unknown key (allowed: id, title,", at="colour: red"),
    case("a missing required key is named at the mapping that lacks it",
         "  time_zone: Asia/Shanghai\n", "",
         "plan", 'missing required key "time_zone"', at="  id: guigang-skills-2019"),
    case("an obligation without a task is named by its id",
         '    task: "按规定落实培训补贴、职业技能鉴定补贴政策。"\n', "",
         "obligations[hrss-7]", 'missing required key "task"', at="id: hrss-7"),
    case("a key repeated in one mapping is reported at the repeat",
         '  - id: bulletin\n    lead: hrss\n', '  - id: bulletin\n    lead: hrss\n    lead: drc\n',
         "obligations[bulletin].lead", "appears twice in the same mapping", at="    lead: drc\n    task: \"通报"),
    # wrong types
    case("text where a number is expected is a wrong type",
         "value: 120000, by:", "value: 十二万, by:",
         "targets.plan_wide[total].value", "expected a whole number, found text", at="十二万"),
    case("a list where a mapping is expected is a wrong type",
         'deadline: {text: "按自治区要求上报"}', 'deadline: ["按自治区要求上报"]',
         "obligations[hrss-9].deadline", "expected a mapping, found a list"),
    case("a list where the by-year mapping is expected is a wrong type",
         "{region: city-level, total: 12000, by_year: {2019: 3000, 2020: 4500, 2021: 4500}}",
         "{region: city-level, total: 12000, by_year: [3000, 4500, 4500]}",
         "targets.breakdown.regions[city-level].by_year", "expected a mapping", at="[3000, 4500, 4500]"),
    case("a negative reminder offset is refused",
         "reminder_working_days_before: [5, 1, 0]", "reminder_working_days_before: [5, 1, -1]",
         "supervision.reminder_working_days_before[2]", "must be at least 0, found -1"),
    case("a unit kind with a typo suggests the right kind",
         "    aliases: [市财政局, 财政部门]\n    kind: department\n",
         "    aliases: [市财政局, 财政部门]\n    kind: departmnt\n",
         "units[finance].kind", 'did you mean "department"?', at="kind: departmnt"),
    # duplicates
    case("a duplicate unit id is reported at the second unit",
         "  - id: drc\n", "  - id: hrss\n", "units[hrss].id", 'id "hrss" is used twice',
         at="id: hrss\n    name: 贵港市发展和改革委员会"),
    case("a duplicate obligation id is reported at the repeat",
         "  - id: drc-1\n", "  - id: hrss-9\n", "obligations[hrss-9].id", 'id "hrss-9" is used twice',
         at="id: hrss-9\n    lead: drc"),
    case("an alias claimed by two units names the first owner",
         "    aliases: [市财政局, 财政部门]\n", "    aliases: [市财政局, 财政部门, 市教育局]\n",
         "units[education].aliases", '"市教育局" already names "finance"', at="aliases: [市教育局, 教育局"),
    case("two members speaking for one unit are reported at the second",
         "unit: drc, email: liang-fuhai", "unit: hrss, email: liang-fuhai",
         "leading_group.members[*].unit", 'both speak for "hrss"', at="unit: hrss, email: liang-fuhai"),
    # references
    case("an unknown lead suggests the closest unit id",
         HRSS_9_LEAD, HRSS_9_LEAD.replace("hrss", "hrs"),
         "obligations[hrss-9].lead", 'unknown unit or group "hrs"; did you mean "hrss"?', at="lead: hrs\n"),
    case("a lead written as a Chinese name asks for the unit id",
         '    lead: finance\n    task: "按规定提取', '    lead: 市财政局\n    task: "按规定提取',
         "obligations[finance-1].lead", '"市财政局" is a name: use its id "finance"', at="lead: 市财政局"),
    case("an unknown co-unit suggests the closest unit id",
         "co_units: [hrss, poverty,", "co_units: [hrss, povrty,",
         "obligations[work-3].co_units[1]", 'unknown unit "povrty"; did you mean "poverty"?', at="povrty"),
    case("a source cell naming no unit suggests a name or alias",
         "unit: 市司法局}", "unit: 市司法厅}",
         "obligations[justice-1].sources[0].unit", '"市司法厅" names no unit or group; did you mean "市司法局"?'),
    case("an unknown awaited event suggests the closest event id",
         "awaits: region-supporting-documents", "awaits: region-documents",
         "obligations[hrss-2].awaits", 'unknown event "region-documents"; did you mean "region-supporting-documents"?'),
    case("an after-event deadline without awaits asks for the event",
         "    awaits: region-supporting-documents\n", "",
         "obligations[hrss-2].awaits", "an after-event deadline needs `awaits: <event id>`",
         at='deadline: {text: "自治区相关文件下发后一个月内完成"}'),
    case("an unknown target suggests the closest target id",
         "    targets: [poor-labour]", "    targets: [poor-labor]",
         "obligations[work-3].targets", 'unknown target "poor-labor"; did you mean "poor-labour"?'),
    case("an unknown part-of target is reported at that target",
         "part_of: other-groups,\n       text: 三年组织贫困", "part_of: other-group,\n       text: 三年组织贫困",
         "targets.plan_wide[poor-labour].part_of", 'unknown target "other-group"; did you mean "other-groups"?',
         at="{id: poor-labour, name: 贫困劳动力和贫困家庭子女培训"),
    case("an unknown reporting obligation suggests the closest obligation id",
         "{obligation: bulletin,", "{obligation: bulletins,",
         "reporting.bulletins.obligation", 'unknown obligation "bulletins"; did you mean "bulletin"?'),
    case("a person speaking for an unknown unit suggests the closest unit id",
         "unit: agriculture, email: lu-guangyou", "unit: agricultur, email: lu-guangyou",
         "leading_group.members[*].unit", 'unknown unit "agricultur"; did you mean "agriculture"?'),
    case("an escalation rung that does not exist lists the rungs",
         "to: [leader]}", "to: [mayor]}",
         "supervision.escalation[2].to[0]", '"mayor" is not one of: unit-member, office, deputies, leader'),
    case("a lead unit with no leading-group member is reported at its obligations",
         MA_KE, "", "obligations[public-security-1].lead", 'no leading-group member speaks for "public-security"',
         at="lead: public-security"),
    # dates
    case("a fixed deadline outside the plan gives the plan's dates",
         'deadline: {text: "2019年9月30日前"}', 'deadline: {text: "2022年3月1日前"}',
         "obligations[finance-1].deadline.text", "2022-03-01 is outside the plan (2019-09-30 to 2021-12-31)"),
    case("an impossible date in the YAML is not a real date",
         "written_on: 2019-09-30", "written_on: 2019-02-30",
         "plan.written_on", '"2019-02-30" is not a real date'),
    case("a date in the wrong format asks for YYYY-MM-DD",
         "  start: 2019-09-30\n", "  start: 2019/09/30\n",
         "plan.start", 'expected a date as YYYY-MM-DD, found "2019/09/30"', at="start: 2019/09/30"),
    case("a span that ends before it starts gives both dates",
         "[{start: 2019-09-30, end: 2019-10-31}]", "[{start: 2019-10-31, end: 2019-09-30}]",
         "plan.phases[0].spans[0].end", "ends (2019-09-30) before it starts (2019-10-31)"),
    case("an escalation ladder out of order is reported at the step",
         "{level: 2, after_working_days: 5,", "{level: 2, after_working_days: 2,",
         "supervision.escalation[1]", "each must come later than the one before"),
    case("a bad time zone gives an example",
         "time_zone: Asia/Shanghai", "time_zone: Asia/Guigang",
         "plan.time_zone", 'unknown time zone "Asia/Guigang" (e.g. Asia/Shanghai)'),
    # numbers that do not add up
    case("a region whose years do not add up to its total shows the sum",
         "total: 31200, by_year: {2019: 7800,", "total: 31200, by_year: {2019: 7900,",
         "targets.breakdown.regions[guiping].total", "says 31200, but its years add up to 7900 + 11700 + 11700 = 31300",
         at="{region: guiping"),
    case("a column that does not add up to the totals row shows the column's sum",
         "{region: gangbei,    total: 19200, by_year: {2019: 4800,",
         "{region: gangbei,    total: 19300, by_year: {2019: 4900,",
         "targets.breakdown.totals.by_year.2019", "the regions add up to 30100 for 2019, but the total row says 30000",
         at="totals: {total: 120000"),
    case("a plan-wide total that disagrees with the breakdown is reported at its value",
         "value: 120000, by:", "value: 130000, by:",
         "targets.plan_wide[total].value", "says 130000, but the breakdown's total is 120000", at="130000"),
    case("a plan-wide year that disagrees with the breakdown is reported at its value",
         "value: 45000, year: 2020,", "value: 46000, year: 2020,",
         "targets.plan_wide[year-2020].value", "says 46000 for 2020, but the breakdown's total for 2020 is 45000"),
    case("parts adding up to more than their whole are reported at the whole",
         "value: 10000, by: 2021-12-31, part_of: other-groups", "value: 20000, by: 2021-12-31, part_of: other-groups",
         "targets.plan_wide[other-groups].value", "key-groups 50000 + poor-labour 20000 > 60000",
         at="{id: other-groups,"),
    # deadline texts
    case("an unreadable deadline text is quoted",
         'deadline: {text: "按自治区要求上报"}', 'deadline: {text: "尽快"}',
         "obligations[hrss-9].deadline.text", 'cannot read deadline "尽快"'),
    case("a stated kind that disagrees with the text says how the text reads",
         "kind: fixed, due: 2019-10-31}", "kind: periodic, due: 2019-10-31}",
         "obligations[prep-2].deadline.kind", 'says periodic, but "2019年10月31日前" reads as fixed'),
    case("a stated due date that disagrees with the text gives the parsed date",
         "kind: fixed, due: 2019-10-31}", "kind: fixed, due: 2019-10-30}",
         "obligations[prep-2].deadline.due", 'says 2019-10-30, but "2019年10月31日前" reads as 2019-10-31'),
    case("a fixed ongoing cadence asks for a periodic one",
         "ongoing_cadence: 季度结束后10日内", "ongoing_cadence: 2019年10月31日前",
         "supervision.ongoing_cadence", "the cadence must be periodic"),
    # lengths the database keeps (longer ids loaded on SQLite and failed on PostgreSQL)
    case("an obligation id longer than the database keeps is refused at its line",
         "  - id: drc-1\n", f"  - id: drc-1-{'x' * 60}\n", "obligations[*].id",
         "is 66 characters long; at most 60 are kept"),
    case("a unit id longer than the database keeps is refused at its line",
         "  - id: drc\n", f"  - id: drc-{'x' * 64}\n", "units[*].id", "is 68 characters long; at most 64 are kept"),
    case("a document number longer than the database keeps is refused",
         "document_number: 贵政办发〔2019〕24号", f"document_number: 贵政办发〔2019〕24号{'附' * 60}",
         "plan.document_number", "at most 64 are kept"),
    # contacts
    case("an email that is not one is quoted",
         "email: ma-ke@guigang.example", "email: ma-ke-at-guigang",
         "leading_group.members[*].email", '"ma-ke-at-guigang" is not an email address'),
]


@pytest.mark.parametrize(("old", "new", "field", "message", "at"), CASES)
@pytest.mark.slow
def test_each_malformed_edit_is_reported_at_its_line_with_its_field(tmp_path, old, new, field, message, at):
    problems, path, text = problems_after(tmp_path, old, new)
    line = line_of(text, at)
    matching = [p for p in problems if field_matches(field, p.field) and message in p.message]
    assert matching, f"no problem in {field} saying {message!r}:\n{listing(problems)}"
    problem = matching[0]
    assert (problem.file, problem.line) == (str(path), line), listing(problems)
    assert problem.column >= 1
    assert str(problem).startswith(f"{path}:{line}:{problem.column}: {problem.field}: ")


def test_the_table_covers_at_least_twenty_five_malformations():
    assert len(CASES) >= 25


def test_the_seed_plan_itself_loads_so_every_case_above_fails_because_of_its_edit():
    assert load_plan(SEED).obligations


# ── one mistake, one problem ─────────────────────────────────────────────────────────────────────


def test_a_unit_with_a_bad_kind_is_one_problem_not_one_per_reference(tmp_path):
    # hrss leads and co-operates on dozens of obligations; its typo must not make each an "unknown unit".
    problems, _, _ = problems_after(tmp_path, "市人力资源社会保障部门]\n    kind: department\n",
                                    "市人力资源社会保障部门]\n    kind: departmnt\n")
    assert [p.field for p in problems] == ["units[hrss].kind"], listing(problems)


def test_a_bad_value_in_one_target_is_one_problem_not_a_missing_total(tmp_path):
    problems, _, _ = problems_after(tmp_path, "value: 120000, by:", "value: 十二万, by:")
    assert len(problems) == 1, listing(problems)


def test_a_bad_email_does_not_also_leave_the_unit_without_a_member(tmp_path):
    problems, _, _ = problems_after(tmp_path, "email: ma-ke@guigang.example", "email: ma-ke-at-guigang")
    assert [p.field.rsplit(".", 1)[-1] for p in problems] == ["email"], listing(problems)


def test_a_wrong_type_is_reported_once_and_always_with_its_field(tmp_path):
    problems, _, _ = problems_after(tmp_path, "    aliases: [市财政局, 财政部门]\n", "    aliases: {a: 市财政局}\n")
    assert all(p.field for p in problems), listing(problems)
    assert sum("expected a list, found a mapping" in p.message for p in problems) == 1, listing(problems)


def test_an_unknown_rung_is_not_also_reported_as_an_empty_ladder_step(tmp_path):
    problems, _, _ = problems_after(tmp_path, "to: [leader]}", "to: [mayor]}")
    assert len(problems) == 1, listing(problems)


# ── all problems together ────────────────────────────────────────────────────────────────────────


def test_several_independent_errors_are_all_reported_in_line_order(tmp_path):
    path, text = write_plan(
        tmp_path,
        ("time_zone: Asia/Shanghai", "time_zone: Asia/Guigang"),
        (HRSS_9_LEAD, HRSS_9_LEAD.replace("hrss", "hrs")),  # makes hrss-9 unusable: later lines must not shift
        (MA_KE, ""),
        ("total: 31200, by_year: {2019: 7800,", "total: 31200, by_year: {2019: 7900,"),
    )
    problems = problems_of(path)
    expected = [
        ("plan.time_zone", line_of(text, "Asia/Guigang")),
        ("obligations[hrss-9].lead", line_of(text, "lead: hrs\n")),
        ("obligations[public-security-1].lead", line_of(text, "lead: public-security")),
        ("targets.breakdown.regions[guiping].total", line_of(text, "{region: guiping")),
    ]
    found = [(p.field, p.line) for p in problems]
    for item in expected:
        assert item in found, listing(problems)
    assert len(problems) >= 4
    assert [p.line for p in problems] == sorted(p.line for p in problems)


def test_every_problem_names_the_file_a_line_and_a_column(tmp_path):
    path, _ = write_plan(tmp_path, ("time_zone: Asia/Shanghai", "time_zone: 42"), (MA_KE, ""),
                         ("unit: 市司法局}", "unit: 市司法厅}"))
    for problem in problems_of(path):
        assert re.match(rf"{re.escape(str(path))}:\d+:\d+: \S", str(problem)), str(problem)
        assert problem.line >= 1 and problem.column >= 1 and problem.field


# ── the file itself ──────────────────────────────────────────────────────────────────────────────


def only_problem(path: Path) -> Problem:
    problems = problems_of(path)
    assert len(problems) == 1, listing(problems)
    assert problems[0].file == str(path)
    return problems[0]


def test_a_missing_file_is_reported_not_raised(tmp_path):
    problem = only_problem(tmp_path / "no-such-plan.yaml")
    assert "file not found" in problem.message and (problem.line, problem.column) == (1, 1)


def test_a_directory_is_not_a_plan_file(tmp_path):
    assert "is a directory" in only_problem(tmp_path).message


def test_an_empty_file_says_what_a_plan_needs(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_bytes(b"")
    assert "the file is empty" in only_problem(path).message


def test_a_file_of_only_comments_is_empty(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text("# deadlines.yaml\n# to be written\n\n", encoding="utf-8")
    assert "the file is empty" in only_problem(path).message


def test_a_binary_file_is_refused_as_binary(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    assert "binary" in only_problem(path).message


def test_a_gbk_encoded_plan_names_the_first_unreadable_character(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_bytes(SEED_TEXT.encode("gbk"))
    first = next(i for i, ch in enumerate(SEED_TEXT) if ord(ch) > 127)  # GBK keeps ASCII as it is
    line = SEED_TEXT.count("\n", 0, first) + 1
    column = first - (SEED_TEXT.rfind("\n", 0, first) + 1) + 1
    problem = only_problem(path)
    assert "is not UTF-8" in problem.message and "save it as UTF-8" in problem.message
    assert (problem.line, problem.column) == (line, column)


def test_a_control_character_is_reported_at_its_line(tmp_path):
    path, text = write_plan(tmp_path, ("  title: 贵港", "  title: \x07贵港"))
    problem = only_problem(path)
    assert "not allowed" in problem.message and problem.line == line_of(text, "\x07")


def test_a_plan_that_is_a_list_asks_for_a_mapping(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text("- plan\n- units\n", encoding="utf-8")
    assert "expected a mapping, found a list" in only_problem(path).message


def test_bad_indentation_is_a_syntax_error_at_its_line(tmp_path):
    path, text = write_plan(tmp_path, ("  title: 贵港", "   title: 贵港"))
    problem = only_problem(path)
    assert problem.message.startswith("YAML syntax error") and problem.line == line_of(text, "   title: 贵港")


def test_an_unclosed_flow_mapping_names_where_it_was_opened(tmp_path):
    old = 'deadline: {text: "2019年9月30日前"}'
    path, text = write_plan(tmp_path, (old, old.rstrip("}")))
    problem = only_problem(path)
    opened = line_of(text, 'deadline: {text: "2019年9月30日前"\n')
    assert problem.message.startswith("YAML syntax error") and "'}'" in problem.message
    assert problem.line in (opened, opened + 1)  # where the parser noticed: the next line
    assert f"started at line {opened}," in problem.message


def test_a_tab_in_the_indentation_is_reported_at_its_line_with_a_hint(tmp_path):
    path, text = write_plan(tmp_path, ("\n  title: 贵港", "\n\ttitle: 贵港"))
    problem = only_problem(path)
    assert problem.message.startswith("YAML syntax error") and "tab" in problem.message
    assert problem.line == line_of(text, "\ttitle: 贵港")
    assert "never tabs" in problem.message


def test_two_documents_in_one_file_is_a_syntax_error(tmp_path):
    path, text = write_plan(tmp_path, ("\ncalendar:\n", "\n---\ncalendar:\n"))
    problem = only_problem(path)
    assert "single document" in problem.message and problem.line == line_of(text, "---\n")


# ── the command: exit 1, problems on stderr, no traceback, nothing written ───────────────────────


def duban(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("DUBAN_PLAN", None)
    return subprocess.run([sys.executable, "-m", "workflows.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def files_under(path: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(path)), p.stat().st_size if p.is_file() else -1) for p in path.rglob("*"))


def make_unknown_lead(tmp_path: Path) -> tuple[Path, int]:
    path, text = write_plan(tmp_path, (HRSS_9_LEAD, HRSS_9_LEAD.replace("hrss", "hrs")))
    return path, line_of(text, "lead: hrs\n")


def make_syntax_error(tmp_path: Path) -> tuple[Path, int]:
    path, text = write_plan(tmp_path, ("\n  title: 贵港", "\n\ttitle: 贵港"))
    return path, line_of(text, "\ttitle: 贵港")


def make_empty(tmp_path: Path) -> tuple[Path, int]:
    path = tmp_path / "plan.yaml"
    path.write_bytes(b"")
    return path, 1


def make_binary(tmp_path: Path) -> tuple[Path, int]:
    path = tmp_path / "plan.yaml"
    path.write_bytes(b"\x00\x01\x02deadlines\x00")
    return path, 1


def make_gbk(tmp_path: Path) -> tuple[Path, int]:
    path = tmp_path / "plan.yaml"
    path.write_bytes("plan:\n  title: 贵港市职业技能提升行动工作方案\n".encode("gbk"))
    return path, 2


def make_missing(tmp_path: Path) -> tuple[Path, int]:
    return tmp_path / "absent.yaml", 1


def make_bad_numbers(tmp_path: Path) -> tuple[Path, int]:
    path, text = write_plan(tmp_path, ("total: 31200, by_year: {2019: 7800,", "total: 31200, by_year: {2019: 7900,"))
    return path, line_of(text, "{region: guiping")


@pytest.mark.parametrize("make", [make_unknown_lead, make_syntax_error, make_empty, make_binary, make_gbk,
                                  make_missing, make_bad_numbers],
                         ids=lambda make: make.__name__.removeprefix("make_"))
def test_plan_check_on_a_malformed_plan_exits_1_naming_file_line_and_column_and_writes_nothing(tmp_path, make):
    path, line = make(tmp_path)
    before = files_under(tmp_path)
    result = duban("plan", "check", str(path), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert re.search(rf"^{re.escape(str(path))}:{line}:\d+: ", result.stderr, re.MULTILINE), result.stderr
    assert "nothing was loaded" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout == ""
    assert files_under(tmp_path) == before


def test_plan_check_reports_every_problem_on_its_own_line(tmp_path):
    path, _ = write_plan(tmp_path, ("time_zone: Asia/Shanghai", "time_zone: Asia/Guigang"),
                         (HRSS_9_LEAD, HRSS_9_LEAD.replace("hrss", "hrs")))
    result = duban("plan", "check", str(path), cwd=tmp_path)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith(f"{path}:")]
    assert any("plan.time_zone" in line for line in lines) and any("obligations[hrss-9].lead" in line for line in lines)
    assert "2 problems; nothing was loaded" in result.stderr


def test_deadline_parse_of_an_unreadable_text_exits_1_quoting_it(tmp_path):
    result = duban("deadline", "parse", "尽快", cwd=tmp_path)
    assert result.returncode == 1
    assert '"尽快"' in result.stderr and "Traceback" not in result.stderr + result.stdout
    assert files_under(tmp_path) == []


def test_deadline_parse_with_a_bad_from_date_is_a_usage_error(tmp_path):
    result = duban("deadline", "parse", "2019年10月31日前", "--from", "2019-13-01", cwd=tmp_path)
    assert result.returncode == 2
    assert '"2019-13-01" is not a date' in result.stderr and "usage:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("edit, field", [
    ("      spans: [{start: 2019-11-01, end: 2021-12-31}]", "plan.phases[1].spans"),
    ("  reminder_working_days_before: [5, 1, 0]", "supervision.reminder_working_days_before"),
])
def test_an_empty_list_where_the_plan_needs_entries_is_a_problem(tmp_path, edit, field):
    empty = edit.split(":")[0] + ": []"
    problems, _, _ = problems_after(tmp_path, edit, empty)
    assert [(p.field, p.message) for p in problems] == [(field, "must list at least one entry")]


def test_a_utf16_file_is_told_to_be_saved_as_utf8(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_bytes(SEED.read_text(encoding="utf-8").encode("utf-16"))
    with pytest.raises(PlanInvalid) as refused:
        load_plan(path)
    assert [p.message for p in refused.value.problems] == ["is UTF-16 text; save it as UTF-8"]
