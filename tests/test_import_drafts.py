"""A plan imported in the browser, as the tracking service keeps it (tracking.import_drafts): the draft's corrections
stored and read back, publishing and marking the draft in one transaction, two people publishing at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from responsibilities.importing.corrections import Corrections
from responsibilities.importing.service import import_document
from responsibilities.reading.directory import office_directory
from responsibilities.reading.plans import plan_list
from responsibilities.tracking import services
from responsibilities.tracking.import_drafts import (
    PlanChoices,
    find_import,
    open_imports,
    publish_import,
    save_corrections,
    start_import,
)

from conftest import OFFICE, at, at_once

pytestmark = pytest.mark.both_databases

DOCUMENT = Path(__file__).parent / "fixtures" / "import" / "guigang-2020-key-tasks.txt"
NOW = at(2020, 3, 5)
CORRECTIONS = Corrections(units={"市大数据发展局": "miit"}, new_units={}, leads={0: "hrss"},
                          deadlines={2: "2020年9月30日前"})


def corrected_draft(session_factory) -> tuple[int, str]:
    """A stored draft with the corrections that settle its flags, and the plan file they make."""
    draft = start_import(session_factory, actor=OFFICE, now=NOW, file_name=DOCUMENT.name, data=DOCUMENT.read_bytes())
    save_corrections(session_factory, draft.id, actor=OFFICE, now=NOW, corrections=CORRECTIONS,
                     plan=PlanChoices("tasks-2020", "", ""), expected_version=1)
    stored = find_import(session_factory, draft.id, viewer=OFFICE)
    assert stored.corrections == CORRECTIONS and stored.plan == PlanChoices("tasks-2020", "", "")  # read back as saved
    imported = import_document(stored.content, stored.file_name, office_directory(session_factory),
                               plan_id=stored.plan.id, corrections=stored.corrections)
    assert imported.reading.flags == []
    return draft.id, imported.draft


def test_publishing_adds_the_plan_and_marks_the_draft_emptying_its_bytes(loaded, session_factory):
    draft_id, text = corrected_draft(session_factory)
    assert publish_import(session_factory, draft_id, text, actor=OFFICE, now=NOW, expected_version=2) == "tasks-2020"
    published = find_import(session_factory, draft_id, viewer=OFFICE)
    assert (published.status, published.plan_id, published.finished_by, published.content) == (
        "published", "tasks-2020", OFFICE, b"")
    assert open_imports(session_factory, viewer=OFFICE) == []
    assert "tasks-2020" in {p.id for p in plan_list(session_factory, today=NOW.date())}


def test_two_people_publishing_one_draft_at_once_add_one_plan_and_the_other_is_told(loaded, session_factory):
    services.add_user(session_factory, name="office-2", role="office", now=NOW)
    draft_id, text = corrected_draft(session_factory)
    outcomes = at_once(loaded, f"UPDATE plan_imports SET version = version WHERE id = {draft_id}", *(
        lambda sf, who=who: publish_import(sf, draft_id, text, actor=who, now=NOW, expected_version=2)
        for who in (OFFICE, "office-2")))
    done, refused = sorted(outcomes)
    assert done == "done" and refused.endswith("已发布(方案编号 tasks-2020),不能再更改"), outcomes
    assert [p.id for p in plan_list(session_factory, today=NOW.date())].count("tasks-2020") == 1
