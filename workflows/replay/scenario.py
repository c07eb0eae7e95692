"""The scenario `duban simulate` plays: how the units and the office behave, deterministically from a seed.

Every deliverable gets a fate when the replay first sees it (at load, or when the office dates it later),
drawn from a random generator seeded by (seed, deliverable ref). A fate never depends on the order in which
deliverables are met, so two runs with one seed act identically, and a shorter window acts like the start
of a longer one. The proportions (OUTCOMES):

- on time (70 %): the lead unit submits 1–5 working days before the due date;
- late (15 %): it submits 1–20 days after the due date (on the next working day);
- returned (7 %): it submits on time, the office returns it, the unit resubmits 1–5 working days later;
- never (5 %): nothing is ever handed in; the sweep chases and escalates it to the end;
- extension (3 %): 3–8 working days before the due date the unit asks for 10–30 more days; the office
  grants 80 % of these (the unit then submits 1–3 working days before the new date) and refuses the rest
  (the unit then submits 1–10 days late).

The office reviews each submission 1–3 working days after it arrives (accepting it, or returning the ones
fated to be returned, once), records the outside event (region-supporting-documents) on a working day in
February–April 2020, enters the dates the region sets for external obligations each quarter from 2020, and
dates two later batches of staged obligations (mid-2020 and mid-2021).

Units act at 10:00 and the office at 15:00 on working days, through responsibilities.tracking.services with the
users a real deployment would have: "office", "leader", and one "clerk-<unit id>" per unit. A refused
action (a DomainError) is counted in ``ScenarioStats.refused``, not raised: it would mean the scenario
asked for something the rules forbid, which the tests check never happens.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from responsibilities.deadlines.working_days import WorkingCalendar
from responsibilities.errors import DomainError
from responsibilities.figures.service import submit_figures
from responsibilities.storage.model import Deliverable, ObligationRecord, UnitRecord
from responsibilities.tracking import services
from responsibilities.tracking.items import ItemRequest, assign_item

OUTCOMES = (("on_time", 70), ("late", 15), ("returned", 7), ("never", 5), ("extension", 3))
GRANT_SHARE = 0.8  # of extension requests, the share the office grants
LINK_SHARE = 0.25  # of submissions, the share that carry an evidence link
UNITS_ACT_AT = time(10, 0)
OFFICE_ACTS_AT = time(15, 0)
OFFICE, LEADER = "office", "leader"
EVENT_ID = "region-supporting-documents"
EVENT_WINDOW = (date(2020, 2, 10), date(2020, 4, 30))  # when the office records the outside event
STAGED_BATCHES = (date(2020, 6, 15), date(2021, 6, 15))  # when the office dates a later batch of a staged task
EXTERNAL_QUARTERS = [date(y, m, 10) for y in (2020, 2021) for m in (1, 4, 7, 10)]  # the region sets a date
# Items the office assigns by hand besides the plan (交办事项): a few a month, some recurring.
ITEMS_PER_MONTH = (2, 4)
RECURRING_SHARE = 0.15
ITEM_SOURCES = ("市长办公会议纪要〔{year}〕{n}号", "市政府常务会议议定事项〔{year}〕{n}号", "市领导批示(第{n}期)",
                "自治区人力资源社会保障厅来函(桂人社函〔{year}〕{n}号)", "市委督查室转办件〔{year}〕{n}号")
ITEM_TASKS = ("牵头研究制定{topic}的具体措施,报市人民政府审定", "报送{topic}工作进展情况",
              "对{topic}开展专项督查并形成报告", "会同有关单位做好{topic}的宣传解读",
              "梳理{topic}存在的问题并提出整改意见")
ITEM_TOPICS = ("稳就业保就业", "返乡入乡创业", "职业技能竞赛", "农民工工资支付", "高校毕业生就业", "技工院校招生",
               "以工代训补贴发放", "企业新型学徒制", "就业困难人员援助", "重点群体创业担保贷款")
ITEMS_UNTIL = (2021, 11)  # the last month the replay's office assigns items in
ITEM_LEADS = ("hrss", "drc", "finance", "education", "agriculture", "guiping", "pingnan", "gangbei", "gangnan",
              "qintang")

SUBMIT_NOTES = ("已按要求完成,报送相关材料。", "已办结,附工作总结及佐证材料。", "本期工作已完成,情况见附件。",
                "已落实,报送办结报告。")
RESUBMIT_NOTE = "已按退回意见补充修改,重新报送。"
RETURN_REASON = "佐证材料不全,请补充培训台账和资金使用情况后重新报送。"
ACCEPT_NOTE = "审核通过,予以销号。"
EXTENSION_REASON = "相关数据需等待各县(市、区)汇总,申请延期报送。"
REFUSE_REASON = "时限已明确,不予延期,请抓紧办理。"
MONTHLY_NOTE = "本月培训数据已汇总,请审核。"


def clerk(unit_id: str) -> str:
    return f"clerk-{unit_id}"


@dataclass
class Fate:
    """What one deliverable's unit will do, and the generator its later choices draw from."""

    outcome: str
    rng: random.Random
    unit_id: str
    due: date
    returned: bool = False  # the office has returned it once already
    new_due: date | None = None  # extension: the date asked for
    grant: bool = False  # extension: whether the office will grant it


@dataclass
class ScenarioStats:
    fates: Counter = field(default_factory=Counter)
    actions: Counter = field(default_factory=Counter)  # submit, resubmit, accept, return, extension.request, …
    refused: int = 0
    refusals: list[str] = field(default_factory=list)  # the first few refusal messages, to debug the scenario

    def as_dict(self) -> dict[str, Any]:
        return {"fates": dict(sorted(self.fates.items())), "actions": dict(sorted(self.actions.items())),
                "refused": self.refused}


class Scenario:
    """Plays the units and the office, one simulated day at a time (``units_act`` then ``office_acts``)."""

    def __init__(self, sessions, calendar: WorkingCalendar, time_zone: ZoneInfo, *, seed: int,
                 start: date) -> None:
        self.sessions, self.calendar, self.zone, self.seed = sessions, calendar, time_zone, seed
        self.stats = ScenarioStats()
        self._fates: dict[str, Fate] = {}
        self._agenda: dict[tuple[date, str], list[tuple[int, str, str]]] = defaultdict(list)  # (day, side) → acts
        self._order = itertools.count()
        self._last_seen_id = 0
        self._today = start
        self._done: set[tuple[date, str]] = set()  # (day, side) whose acts have run: later ones go to the next day
        self.figures = MonthlyFigures(sessions, seed)

    # ── setting up ───────────────────────────────────────────────────────────────────────────────

    def add_users(self, now: datetime) -> int:
        """The office, the leader, and a clerk for every unit; returns how many users were added."""
        with self.sessions() as session:
            units = list(session.scalars(select(UnitRecord.id).where(UnitRecord.retired.is_(False))
                                         .order_by(UnitRecord.id)))
        services.add_user(self.sessions, name=OFFICE, role="office", now=now)
        services.add_user(self.sessions, name=LEADER, role="leader", now=now)
        for unit_id in units:
            services.add_user(self.sessions, name=clerk(unit_id), role=f"unit:{unit_id}", now=now)
        self._plan_office_work()
        self._plan_items()
        return len(units) + 2

    def _plan_office_work(self) -> None:
        """The office's own dated work: the outside event, external dates, later staged batches."""
        rng = random.Random(f"{self.seed}:office")
        with self.sessions() as session:
            obligations = {o.id: o.kind for o in session.scalars(select(ObligationRecord).where(
                ObligationRecord.retired_at.is_(None)))}
            awaiting = [o.id for o in session.scalars(select(ObligationRecord).where(
                ObligationRecord.awaits == EVENT_ID, ObligationRecord.retired_at.is_(None)))]
        first, last = EVENT_WINDOW
        recorded = self.calendar.next_working_day(first + timedelta(days=rng.randint(0, (last - first).days)))
        if awaiting:
            occurred = recorded - timedelta(days=rng.randint(0, 7))
            self._schedule(recorded, "office", "record_event", f"{EVENT_ID}|{occurred.isoformat()}")
        for obligation_id, kind in sorted(obligations.items()):
            days = EXTERNAL_QUARTERS if kind == "external" else STAGED_BATCHES if kind == "staged" else ()
            for day in days:
                due = day + timedelta(days=rng.randint(20, 35))
                self._schedule(self.calendar.next_working_day(day), "office", "set_date",
                               f"{obligation_id}|{due.isoformat()}")

    def _plan_items(self) -> None:
        """The items the office will assign by hand, month by month from the replay's start to the plan's last
        month: deterministic from the seed, each with a deadline phrase a person would write."""
        rng = random.Random(f"{self.seed}:items")
        year, month = self._today.year, self._today.month
        number = itertools.count(1)
        while (year, month) <= ITEMS_UNTIL:
            for _ in range(rng.randint(*ITEMS_PER_MONTH)):
                day = self.calendar.next_working_day(date(year, month, rng.randint(1, 28)))
                self._schedule(day, "office", "assign", f"{next(number)}|{rng.random()}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    # ── the agenda ───────────────────────────────────────────────────────────────────────────────

    def _day_for(self, day: date, side: str) -> date:
        """The working day ``side`` will act on: ``day``, or the first one still to come."""
        day = self.calendar.next_working_day(max(day, self._today))
        while (day, side) in self._done:
            day = self.calendar.add_working_days(day, 1)
        return day

    def _schedule(self, day: date, side: str, verb: str, ref: str) -> None:
        """Do ``verb`` on ``day`` (or on the first working day still to come, if that has passed)."""
        self._agenda[(self._day_for(day, side), side)].append((next(self._order), verb, ref))

    def _moment(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, self.zone)

    def units_act(self, day: date) -> None:
        """Meet the deliverables that appeared since yesterday, then do the units' work of ``day`` (10:00)."""
        self._today = day
        self._meet_new_deliverables()
        self._run(day, "units", self._moment(day, UNITS_ACT_AT))

    def office_acts(self, day: date) -> None:
        """The office's work of ``day`` (15:00): reviews, extension decisions, events, dates."""
        self._today = day
        self._run(day, "office", self._moment(day, OFFICE_ACTS_AT))

    def _run(self, day: date, side: str, now: datetime) -> None:
        self._done.add((day, side))
        acts = self._agenda.pop((day, side), [])
        for _, verb, ref in sorted(acts):
            try:
                getattr(self, "_" + verb.replace(".", "_"))(ref, now)
            except DomainError as refused:
                self.stats.refused += 1
                if len(self.stats.refusals) < 5:
                    self.stats.refusals.append(f"{day} {verb} {ref}: {refused}")

    # ── fates ────────────────────────────────────────────────────────────────────────────────────

    def _meet_new_deliverables(self) -> None:
        with self.sessions() as session:  # <plan>:<ref>: the office's items repeat refs from year to year
            rows = session.execute(select(Deliverable.id, Deliverable.qualified_ref, Deliverable.unit_id,
                                          Deliverable.due)
                                   .where(Deliverable.id > self._last_seen_id, Deliverable.retired.is_(False))
                                   .order_by(Deliverable.id)).all()
        for deliverable_id, ref, unit_id, due in rows:
            self._last_seen_id = max(self._last_seen_id, deliverable_id)
            if due is not None:
                self._give_fate(ref, unit_id, due)

    def _give_fate(self, ref: str, unit_id: str, due: date) -> None:
        rng = random.Random(f"{self.seed}:{ref}")
        outcome = rng.choices([o for o, _ in OUTCOMES], weights=[w for _, w in OUTCOMES])[0]
        fate = self._fates[ref] = Fate(outcome, rng, unit_id, due)
        self.stats.fates[outcome] += 1
        if outcome in ("on_time", "returned"):
            self._schedule(self.calendar.add_working_days(due, -rng.randint(1, 5)), "units", "submit", ref)
        elif outcome == "late":
            self._schedule(due + timedelta(days=rng.randint(1, 20)), "units", "submit", ref)
        elif outcome == "extension":
            ask = self._day_for(self.calendar.add_working_days(due, -rng.randint(3, 8)), "units")
            fate.new_due, fate.grant = due + timedelta(days=rng.randint(10, 30)), rng.random() < GRANT_SHARE
            if ask <= due:
                self._schedule(ask, "units", "extension.request", ref)
            else:  # met too late to ask in time: it is simply late
                self._schedule(due + timedelta(days=rng.randint(1, 10)), "units", "submit", ref)

    # ── the units ────────────────────────────────────────────────────────────────────────────────

    def _submit(self, ref: str, now: datetime) -> None:
        fate = self._fates[ref]
        again = fate.returned
        if self.figures.owns(ref):  # a monthly report: its figures are the hand-in
            region, month = self.figures.region_and_month(ref)
            note = RESUBMIT_NOTE if again else MONTHLY_NOTE
            submit_figures(self.sessions, actor=clerk(fate.unit_id), region=region, month=month,
                           values=self.figures.values(region, month), now=now, note=note, source="simulate")
            self.stats.actions["resubmit" if again else "submit"] += 1
            self.stats.actions["figures"] += 1
            self._schedule(self.calendar.add_working_days(now.date(), fate.rng.randint(1, 3)), "office", "review", ref)
            return
        links = ([f"https://oa.guigang.example/duban/files/{ref}.pdf"]
                 if fate.rng.random() < LINK_SHARE else [])
        note = RESUBMIT_NOTE if again else fate.rng.choice(SUBMIT_NOTES)
        services.submit(self.sessions, actor=clerk(fate.unit_id), ref=ref, now=now, note=note, links=links)
        self.stats.actions["resubmit" if again else "submit"] += 1
        self._schedule(self.calendar.add_working_days(now.date(), fate.rng.randint(1, 3)), "office", "review", ref)

    def _extension_request(self, ref: str, now: datetime) -> None:
        fate = self._fates[ref]
        services.request_extension(self.sessions, actor=clerk(fate.unit_id), ref=ref, new_due=fate.new_due,
                                   reason=EXTENSION_REASON, now=now)
        self.stats.actions["extension.request"] += 1
        self._schedule(self.calendar.add_working_days(now.date(), fate.rng.randint(1, 2)), "office",
                       "extension.decide", ref)

    # ── the office ───────────────────────────────────────────────────────────────────────────────

    def _review(self, ref: str, now: datetime) -> None:
        fate = self._fates[ref]
        if fate.outcome == "returned" and not fate.returned:
            services.return_for_rework(self.sessions, actor=OFFICE, ref=ref, reason=RETURN_REASON, now=now)
            fate.returned = True
            self.stats.actions["return"] += 1
            self._schedule(self.calendar.add_working_days(now.date(), fate.rng.randint(1, 5)), "units", "submit", ref)
            return
        services.accept(self.sessions, actor=OFFICE, ref=ref, now=now, note=ACCEPT_NOTE)
        self.stats.actions["accept"] += 1

    def _extension_decide(self, ref: str, now: datetime) -> None:
        fate = self._fates[ref]
        services.decide_extension(self.sessions, actor=OFFICE, ref=ref, grant=fate.grant, now=now,
                                  reason=None if fate.grant else REFUSE_REASON)
        self.stats.actions["extension.grant" if fate.grant else "extension.refuse"] += 1
        if fate.grant:
            self._schedule(self.calendar.add_working_days(fate.new_due, -fate.rng.randint(1, 3)), "units",
                           "submit", ref)
        else:
            self._schedule(fate.due + timedelta(days=fate.rng.randint(1, 10)), "units", "submit", ref)

    def _record_event(self, what: str, now: datetime) -> None:
        event_id, _, occurred = what.partition("|")
        services.record_event(self.sessions, actor=OFFICE, event_id=event_id,
                              occurred_on=date.fromisoformat(occurred), now=now)
        self.stats.actions["event.record"] += 1

    def _assign(self, what: str, now: datetime) -> None:
        number, _, draw = what.partition("|")
        rng = random.Random(f"{self.seed}:item:{number}:{draw}")
        today = now.date()
        lead = rng.choice(ITEM_LEADS)
        co_units = tuple(rng.sample([u for u in ITEM_LEADS if u != lead], rng.choice((0, 0, 1, 2))))
        source = rng.choice(ITEM_SOURCES).format(year=today.year, n=rng.randint(1, 60))
        task = rng.choice(ITEM_TASKS).format(topic=rng.choice(ITEM_TOPICS))
        recurring = rng.random() < RECURRING_SHARE and today.month <= 9
        if recurring:
            deadline, repeat = f"每月{rng.choice((5, 10, 15))}日前", None
        else:
            due = today + timedelta(days=rng.randint(10, 45))
            deadline, repeat = f"{due.year}年{due.month}月{due.day}日前", None
        assign_item(self.sessions, ItemRequest(lead, task, deadline, co_units, source, repeat), actor=OFFICE, now=now)
        self.stats.actions["item.assign"] += 1
        self._meet_new_deliverables()  # its unit learns of it now, not tomorrow

    def _set_date(self, what: str, now: datetime) -> None:
        obligation_id, _, due = what.partition("|")
        services.set_external_date(self.sessions, actor=OFFICE, obligation_id=obligation_id,
                                   due=date.fromisoformat(due), now=now, note="自治区通知的报送时限")
        self.stats.actions["date.set"] += 1


# ── the monthly figures ──────────────────────────────────────────────────────────────────────────

# One region falls behind in the first half of 2020 and catches up in the second; another trains too few
# enterprise workers in 2019 (below the 50 % rule) and makes up for it in 2020.
BEHIND_THEN_CATCHING_UP = ("pingnan", (date(2020, 1, 1), date(2020, 6, 30)), (date(2020, 7, 1), date(2020, 12, 31)))
FEW_ENTERPRISE_WORKERS = ("gangnan", 2019)
KEY_GROUP_WEIGHTS = {"graduates": 2, "migrant-workers": 5, "school-leavers": 1, "laid-off": 2, "veterans": 1,
                     "hard-to-employ": 1}


class MonthlyFigures:
    """The figures each region reports for a month: around its annual target's monthly pace, deterministic from
    (seed, region, month), the parts never more than their whole."""

    def __init__(self, sessions, seed: int) -> None:
        from responsibilities.storage.model import RegionTargetRecord
        from responsibilities.storage.plans import require_plan

        self.seed = seed
        with sessions() as session:
            figures = require_plan(session).figures
            self.obligation = figures.obligation if figures is not None else ""
            self.plan = figures.plan if figures is not None else ""
            self.targets = {(r.region_unit_id, r.year): r.value for r in session.scalars(select(RegionTargetRecord))}
            self.first_month = {}
            for unit_id, period in session.execute(
                    select(Deliverable.unit_id, Deliverable.period).join(ObligationRecord)
                    .where(ObligationRecord.plan_id == self.plan, ObligationRecord.declared_id == self.obligation)):
                year = int(period[:4])
                self.first_month[(unit_id, year)] = min(self.first_month.get((unit_id, year), 12), int(period[5:7]))

    def owns(self, ref: str) -> bool:  # a <plan>:<ref>
        plan, _, bare = ref.rpartition(":")
        return bool(self.obligation) and plan == self.plan and bare.startswith(f"{self.obligation}.")

    def region_and_month(self, ref: str) -> tuple[str, date]:
        obligation, _, period = ref.rpartition(":")[2].partition("@")
        return obligation.removeprefix(f"{self.obligation}."), date(int(period[:4]), int(period[5:7]), 1)

    def values(self, region: str, month: date) -> dict[str, int]:
        rng = random.Random(f"{self.seed}:figures:{region}:{month.isoformat()}")
        months = 12 - self.first_month.get((region, month.year), 1) + 1
        pace = self.targets.get((region, month.year), 0) / months
        factor = rng.uniform(0.95, 1.25)
        slow_region, slow, fast = BEHIND_THEN_CATCHING_UP
        if region == slow_region and slow[0] <= month <= slow[1]:
            factor = rng.uniform(0.5, 0.65)
        elif region == slow_region and fast[0] <= month <= fast[1]:
            factor = rng.uniform(1.4, 1.6)
        total = round(pace * factor)
        few_region, few_year = FEW_ENTERPRISE_WORKERS
        enterprise_share = rng.uniform(0.40, 0.46) if (region, month.year) == (few_region, few_year) \
            else rng.uniform(0.53, 0.6)
        enterprise = int(total * enterprise_share)
        key_groups = int((total - enterprise) * rng.uniform(0.8, 0.86))
        poor = int((total - enterprise - key_groups) * rng.uniform(0.7, 1.0))
        weights = sum(KEY_GROUP_WEIGHTS.values())
        parts = {k: int(key_groups * w / weights * rng.uniform(0.85, 1.0)) for k, w in KEY_GROUP_WEIGHTS.items()}
        return {"total": total, "enterprise-workers": enterprise, "key-groups": key_groups, **parts,
                "poor-labour": poor, "new-apprentices": min(enterprise, int(total * rng.uniform(0.008, 0.012)))}
