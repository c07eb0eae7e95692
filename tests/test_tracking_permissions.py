"""Who may do what, decided by the services: every actor against every writing action, and the walls of the read side.

The matrix below is the rule set of DESIGN.md §5 written out: a unit acts on its own deliverables (co-units may
only add notes), only the office reviews, waives, records events, sets dates and decides extensions (and may
submit on a unit's behalf), leaders only read. A refused action writes nothing at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable

import pytest

from responsibilities.errors import NotAllowed, NotFound
from responsibilities.reading import queries
from responsibilities.tracking import services

from conftest import FINANCE, GUIPING, HRSS, LEADER, OFFICE, UNION, USERS, at, database_unchanged

pytestmark = pytest.mark.both_databases

NOW = at(2019, 10, 25)  # before every due date used below, so extensions may still be asked for
OWN = "hrss-4"  # led by hrss, no co-units
SHARED = "work-1.guiping@2019-Q4"  # led by guiping; hrss and union are among its co-units
ACTORS = tuple(USERS)


@dataclass(frozen=True)
class Action:
    """One writing use case, with what must already have happened for the actor's attempt to be meaningful."""

    name: str
    act: Callable[..., object]  # (session_factory, actor) -> ...
    prepare: Callable[..., object] = lambda session_factory: None
    allowed: frozenset[str] = frozenset({OFFICE})


def _submitted(ref: str):
    return lambda sf: services.submit(sf, actor=OFFICE, ref=ref, now=NOW - timedelta(hours=1), note="代为报送")


def _extension_asked(ref: str):
    return lambda sf: services.request_extension(sf, actor=OFFICE, ref=ref, new_due=date(2019, 11, 15),
                                                 reason="场地改期", now=NOW - timedelta(hours=1))


ACTIONS = [
    Action("submit own", lambda sf, who: services.submit(sf, actor=who, ref=OWN, now=NOW, note="已办结"),
           allowed=frozenset({OFFICE, HRSS})),
    Action("note own", lambda sf, who: services.add_note(sf, actor=who, ref=OWN, note="进展", now=NOW),
           allowed=frozenset({OFFICE, HRSS})),
    Action("ask extension own", lambda sf, who: services.request_extension(
        sf, actor=who, ref=OWN, new_due=date(2019, 11, 15), reason="场地改期", now=NOW),
           allowed=frozenset({OFFICE, HRSS})),
    Action("submit shared", lambda sf, who: services.submit(sf, actor=who, ref=SHARED, now=NOW, note="已办结"),
           allowed=frozenset({OFFICE, GUIPING})),
    Action("note shared", lambda sf, who: services.add_note(sf, actor=who, ref=SHARED, note="进展", now=NOW),
           allowed=frozenset({OFFICE, GUIPING, HRSS, UNION})),
    Action("ask extension shared", lambda sf, who: services.request_extension(
        sf, actor=who, ref=SHARED, new_due=date(2020, 1, 20), reason="统计口径调整", now=NOW),
           allowed=frozenset({OFFICE, GUIPING})),
    Action("accept", lambda sf, who: services.accept(sf, actor=who, ref=OWN, now=NOW), _submitted(OWN)),
    Action("return", lambda sf, who: services.return_for_rework(sf, actor=who, ref=OWN, reason="材料不全", now=NOW),
           _submitted(OWN)),
    Action("waive", lambda sf, who: services.waive(sf, actor=who, ref=OWN, reason="不再需要", now=NOW)),
    Action("grant extension", lambda sf, who: services.decide_extension(sf, actor=who, ref=OWN, grant=True, now=NOW),
           _extension_asked(OWN)),
    Action("refuse extension", lambda sf, who: services.decide_extension(
        sf, actor=who, ref=OWN, grant=False, reason="不予延期", now=NOW), _extension_asked(OWN)),
    Action("record event", lambda sf, who: services.record_event(
        sf, actor=who, event_id="region-supporting-documents", occurred_on=date(2019, 10, 24), now=NOW)),
    Action("set external date", lambda sf, who: services.set_external_date(
        sf, actor=who, obligation_id="hrss-9", due=date(2019, 11, 10), now=NOW)),
]

CASES = [(action, actor) for action in ACTIONS for actor in ACTORS]
ALLOWED = [pytest.param(a, who, id=f"{who} may {a.name}") for a, who in CASES if who in a.allowed]
REFUSED = [pytest.param(a, who, id=f"{who} may not {a.name}") for a, who in CASES if who not in a.allowed]


def test_the_matrix_covers_every_actor_and_leaders_may_write_nothing():
    assert len(ALLOWED) + len(REFUSED) == len(ACTIONS) * len(ACTORS)
    assert not any(LEADER in a.allowed or FINANCE in a.allowed for a in ACTIONS)
    assert all(OFFICE in a.allowed for a in ACTIONS)


@pytest.mark.parametrize(("action", "actor"), ALLOWED)
def test_an_allowed_actor_changes_the_plan_and_is_named_in_the_audit(action, actor, loaded, session_factory):
    action.prepare(session_factory)
    audited = loaded.count("audit")
    action.act(session_factory, actor)
    newest = queries.audit_trail(session_factory, limit=1)[0]
    assert loaded.count("audit") > audited
    assert (newest.actor, newest.at) == (actor, NOW)


@pytest.mark.parametrize(("action", "actor"), REFUSED)
@pytest.mark.slow
def test_a_refused_actor_is_told_so_and_nothing_is_written(action, actor, loaded, session_factory):
    """Told it may not, naming who; or, for a unit's user and another unit's deliverable, told it is not there."""
    action.prepare(session_factory)
    with database_unchanged(loaded), pytest.raises((NotAllowed, NotFound)) as refused:
        action.act(session_factory, actor)
    if isinstance(refused.value, NotFound):
        assert USERS[actor].startswith("unit:") and re.match("没有编号为“[^”]+”的应交事项", str(refused.value))
    else:
        assert actor in str(refused.value)


def test_the_office_submits_on_a_units_behalf_and_the_trail_says_who(loaded, session_factory):
    services.submit(session_factory, actor=OFFICE, ref=OWN, now=NOW, note="单位书面报送,办公室代录")
    last = queries.show(session_factory, ref=OWN, viewer=HRSS).history[-1]
    assert (last.actor, last.action, last.unit_id, last.after["state"]) == (OFFICE, "submit", "hrss", "submitted")


def test_a_co_unit_is_told_it_only_cooperates_when_it_tries_to_submit(loaded, session_factory):
    with pytest.raises(NotAllowed, match="无权报送办结 work-1.guiping.*牵头单位是 guiping"):
        services.submit(session_factory, note="已办结", actor=UNION, ref=SHARED, now=NOW)


# ── the read side ────────────────────────────────────────────────────────────────────────────────


def test_a_units_status_lists_its_own_deliverables_and_those_it_cooperates_on_marked_so(loaded, session_factory):
    rows = queries.status(session_factory, today=date(2019, 11, 1), viewer=UNION)
    own = {r.id for r in rows if not r.cooperating}
    assert own == {"union-1"} | {r.id for r in rows if r.obligation == "union-2"}
    assert all(r.unit == "union" for r in rows if not r.cooperating)
    cooperating = {r.obligation for r in rows if r.cooperating}
    assert cooperating == {f"work-1.{county}" for county in ("guiping", "pingnan", "gangbei", "gangnan", "qintang")}


def test_a_unit_that_cooperates_on_nothing_sees_only_its_own_work(loaded, session_factory):
    rows = queries.status(session_factory, today=date(2019, 11, 1), viewer=FINANCE)
    assert {r.unit for r in rows} == {"finance"}
    assert {r.obligation for r in rows} == {"finance-1", "finance-2"}


def test_the_office_and_leaders_see_every_unit(loaded, session_factory):
    for viewer in (OFFICE, LEADER):
        units = {r.unit for r in queries.status(session_factory, today=date(2019, 11, 1), viewer=viewer)}
        assert {"hrss", "finance", "guiping", "union", "womens-federation"} <= units


def test_a_unit_asking_for_another_units_status_is_refused(loaded, session_factory):
    with pytest.raises(NotAllowed, match="无权查看 hrss 的事项"):
        queries.status(session_factory, today=date(2019, 11, 1), viewer=FINANCE, unit="hrss")


def test_a_unit_asking_for_another_units_deliverable_is_told_it_is_not_there(loaded, session_factory):
    with pytest.raises(NotFound, match=f"^没有编号为“{OWN}”的应交事项:`duban status` 可列出全部事项$"):
        queries.show(session_factory, ref=OWN, viewer=FINANCE)


def test_a_co_unit_may_open_the_deliverable_it_cooperates_on(loaded, session_factory):
    assert queries.show(session_factory, ref=SHARED, viewer=UNION).deliverable.ref == SHARED


def test_a_units_audit_trail_holds_only_its_own_records(loaded, session_factory):
    services.submit(session_factory, actor=HRSS, ref=OWN, now=NOW, note="已办结")
    services.submit(session_factory, actor=FINANCE, ref="finance-2@2019-Q4", now=NOW, note="已拨付")

    trail = queries.audit_trail(session_factory, viewer=FINANCE)
    assert trail and {r.unit_id for r in trail} == {"finance"}
    with pytest.raises(NotFound):  # another unit's deliverable is not there for it, its records neither
        queries.audit_trail(session_factory, viewer=FINANCE, deliverable=OWN)
    assert [r.actor for r in queries.audit_trail(session_factory, viewer=HRSS, deliverable=OWN)] == ["system", HRSS]


def test_a_unit_asking_for_another_units_audit_trail_is_refused(loaded, session_factory):
    with pytest.raises(NotAllowed, match="无权查看 hrss 的事项"):
        queries.audit_trail(session_factory, viewer=FINANCE, unit="hrss")
