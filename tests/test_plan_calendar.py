"""The plan's own working-day declarations cover years the holiday package does not know."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from responsibilities.plan.loader import load_plan
from responsibilities.plan.yaml_reader import PlanInvalid

SEED = Path(__file__).resolve().parents[1] / "deadlines.yaml"


def plan_file(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    text = SEED.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, f"the seed no longer contains {old!r}"
        text = text.replace(old, new, 1)
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_plan_running_past_the_known_calendar_is_refused_with_the_years_to_declare(tmp_path):
    path = plan_file(tmp_path, ("  end: 2021-12-31", "  end: 2026-12-31"))
    with pytest.raises(PlanInvalid) as refused:
        load_plan(path)
    messages = [str(p) for p in refused.value.problems]
    assert any("calendar" in m and "2027" in m and "calendar.years" in m for m in messages), messages


def test_declared_years_extend_the_calendar_and_are_used_for_working_days(tmp_path):
    path = plan_file(
        tmp_path,
        ("  end: 2021-12-31", "  end: 2026-12-31"),
        ("calendar:\n  years: []",
         "calendar:\n  years:\n    - {year: 2027, holidays: [2027-01-01, 2027-02-08], workdays: [2027-02-20]}"),
    )
    plan = load_plan(path)
    calendar = plan.working_calendar()
    assert not calendar.is_working_day(date(2027, 1, 1))
    assert calendar.is_working_day(date(2027, 2, 20))  # a make-up Saturday
    assert calendar.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)


def test_a_declared_holiday_on_a_weekend_is_reported_as_a_probable_typo(tmp_path):
    path = plan_file(tmp_path, ("calendar:\n  years: []",
                                "calendar:\n  years:\n    - {year: 2027, holidays: [2027-01-02]}"))
    with pytest.raises(PlanInvalid) as refused:
        load_plan(path)
    assert any("2027-01-02" in str(p) and p.field.startswith("calendar.years[0]") for p in refused.value.problems)
