"""The numeric part of the plan file: targets (目标分解表 and 计划目标) and the reporting rules.

Part of ``PlanReader``, kept apart because the arithmetic checks (rows and columns add up, parts never
exceed their whole) are their own concern.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from yaml.nodes import MappingNode, Node, ScalarNode

from responsibilities.plan.model import (
    ID_LENGTH,
    UNIT_OF_MEASURE_LENGTH,
    Breakdown,
    MinimumShare,
    PlanTarget,
    Ratio,
    RegionTarget,
    ReportField,
    Reporting,
    Standard,
    Targets,
)
from responsibilities.plan.sections import SectionReader
from responsibilities.plan.yaml_reader import did_you_mean, value_node


class NumbersReader(SectionReader):
    # ── targets ──────────────────────────────────────────────────────────────────────────────

    def read_targets(self, node: Node | None, field: str, units: Mapping) -> Targets | None:
        m = self.r.mapping(node, field, required=("unit_of_measure", "breakdown", "plan_wide"),
                           optional=("ratios", "standards"))
        if m is None:
            return None
        unit_of_measure = self.r.text(m.get("unit_of_measure"), f"{field}.unit_of_measure",
                                      max_length=UNIT_OF_MEASURE_LENGTH)
        located = self.each_located(m.get("plan_wide"), f"{field}.plan_wide",
                                    lambda n, f: self.read_plan_target(n, f, unit_of_measure or ""))
        plan_wide = [t for t, _, _ in located]
        by_id = {t.id: t for t in plan_wide}
        # Each target's node, so that the checks below point at the target's own line.
        self.target_nodes = {t.id: n for t, n, _ in reversed(located)}
        self.unusable["target"] |= {v.value for n in self.r.items(m.get("plan_wide"))
                                 if isinstance(v := value_node(n, "id"), ScalarNode)} - set(by_id)
        self.unique([(t, n, f"targets.plan_wide[{t.id}]") for t, n, _ in located], lambda t: t.id)
        breakdown = self.read_breakdown(m.get("breakdown"), f"{field}.breakdown", by_id)
        self.check_parts(m.get("plan_wide"), f"{field}.plan_wide", plan_wide, by_id)
        if breakdown is not None:
            self.check_plan_wide_against_breakdown(m.get("plan_wide"), f"{field}.plan_wide", breakdown, by_id)
        ratios = self.each(m.get("ratios"), f"{field}.ratios", self.read_ratio)
        standards = self.each(m.get("standards"), f"{field}.standards", self.read_standard)
        for refs_node, refs_field, refs in self.pending_target_refs:
            for ref in refs:
                if ref not in by_id and ref not in self.unusable["target"]:
                    self.r.error(refs_node, refs_field, f'unknown target "{ref}"{did_you_mean(ref, by_id)}')
        if breakdown is None or unit_of_measure is None:
            return None
        return Targets(unit_of_measure, breakdown, tuple(plan_wide), tuple(ratios), tuple(standards))

    def read_plan_target(self, node: Node, field: str, default_unit: str) -> PlanTarget | None:
        m = self.r.mapping(node, field, required=("id", "name", "value", "text"),
                           optional=("unit_of_measure", "by", "year", "part_of"))
        if m is None:
            return None
        tid = self.r.text(m.get("id"), f"{field}.id", max_length=ID_LENGTH)
        field = f"targets.plan_wide[{tid}]" if tid else field
        name = self.r.text(m.get("name"), f"{field}.name")
        value = self.r.integer(m.get("value"), f"{field}.value", minimum=0)
        text = self.r.text(m.get("text"), f"{field}.text")
        unit = (self.r.text(m.get("unit_of_measure"), f"{field}.unit_of_measure", max_length=UNIT_OF_MEASURE_LENGTH)
                if "unit_of_measure" in m else default_unit)
        by = self.in_plan(m.get("by"), f"{field}.by", self.r.date(m.get("by"), f"{field}.by"))
        year = self.read_year(m.get("year"), f"{field}.year") if "year" in m else None
        part_of = self.r.text(m.get("part_of"), f"{field}.part_of") if "part_of" in m else None
        if None in (tid, name, value, text, unit):
            return None
        return PlanTarget(tid, name, value, text, unit, by, year, part_of)

    def read_year(self, node: Node | None, field: str) -> int | None:
        year = self.r.integer(node, field)
        if year is not None and not (self.start.year <= year <= self.end.year):
            self.r.error(node, field, f"{year} is outside the plan ({self.start.year}–{self.end.year})")
            return None
        return year

    def check_parts(self, node: Node | None, field: str, targets: list[PlanTarget], by_id: dict) -> None:
        """Category parts (same unit, no year) never add up to more than their whole."""
        for target in targets:
            if (target.part_of is not None and target.part_of not in by_id
                    and target.part_of not in self.unusable["target"]):
                self.r.error(self.target_node(target.id, "part_of", node), f"targets.plan_wide[{target.id}].part_of",
                             f'unknown target "{target.part_of}"{did_you_mean(target.part_of, by_id)}')
        for whole in targets:
            parts = [t for t in targets if t.part_of == whole.id and t.year is None
                     and t.unit_of_measure == whole.unit_of_measure]
            if parts and sum(p.value for p in parts) > whole.value:
                listing = " + ".join(f"{p.id} {p.value}" for p in parts)
                self.r.error(self.target_node(whole.id, "value", node), f"targets.plan_wide[{whole.id}].value",
                             f"its parts add up to more than the whole: {listing} > {whole.value}")

    def check_plan_wide_against_breakdown(self, node: Node | None, field: str, breakdown: Breakdown,
                                          by_id: dict) -> None:
        total = by_id.get("total")
        if total is None:
            if "total" not in self.unusable["target"]:
                self.r.error(node, field, 'needs a target with id "total" (the three-year goal)')
        elif total.value != breakdown.totals.total:
            self.r.error(self.target_node("total", "value", node), f"{field}[total].value",
                         f"says {total.value}, but the breakdown's total is {breakdown.totals.total}")
        for target in by_id.values():
            if target.year is None:
                continue
            expected = breakdown.totals.by_year.get(target.year)
            if expected is not None and target.value != expected:
                self.r.error(self.target_node(target.id, "value", node), f"{field}[{target.id}].value",
                             f"says {target.value} for {target.year}, "
                             f"but the breakdown's total for {target.year} is {expected}")

    def target_node(self, target_id: str, key: str, fallback: Node | None) -> Node | None:
        """Where a plan-wide target states ``key``, or the target, or ``fallback``."""
        node = self.target_nodes.get(target_id)
        return value_node(node, key) or node or fallback

    def read_breakdown(self, node: Node | None, field: str, categories: dict) -> Breakdown | None:
        m = self.r.mapping(node, field, required=("source", "years", "regions", "totals"), optional=("minimum_shares",))
        if m is None:
            return None
        source = self.r.text(m.get("source"), f"{field}.source")
        years = tuple(filter(None, (self.read_year(n, f"{field}.years[{i}]")
                                    for i, n in enumerate(self.r.sequence(m.get("years"), f"{field}.years")))))
        located_rows = self.each_located(m.get("regions"), f"{field}.regions",
                                         lambda n, f: self.read_region_row(n, f, years, region=True))
        regions = [row for row, _, _ in located_rows]
        totals = self.read_region_row(m.get("totals"), f"{field}.totals", years, region=False)
        seen: set[str] = set()
        for row, row_node, _ in located_rows:
            if row.region in seen:
                self.r.error(value_node(row_node, "region") or row_node, f"{field}.regions[{row.region}].region",
                             f'region "{row.region}" appears twice')
            seen.add(row.region)
        if totals is not None and regions:
            for year in years:
                column = sum(r.by_year.get(year, 0) for r in regions)
                if column != totals.by_year.get(year):
                    self.r.error(m.get("totals"), f"{field}.totals.by_year.{year}",
                                 f"the regions add up to {column} for {year}, "
                                 f"but the total row says {totals.by_year.get(year)}")
            column = sum(r.total for r in regions)
            if column != totals.total:
                self.r.error(m.get("totals"), f"{field}.totals.total",
                             f"the regions' three-year totals add up to {column}, "
                             f"but the total row says {totals.total}")
        shares = self.each(m.get("minimum_shares"), f"{field}.minimum_shares",
                           lambda n, f: self.read_share(n, f, categories))
        if source is None or totals is None or not years:
            return None
        return Breakdown(source, years, tuple(regions), totals, tuple(shares))

    def read_region_row(self, node: Node | None, field: str, years: tuple[int, ...], *,
                        region: bool) -> RegionTarget | None:
        m = self.r.mapping(node, field, required=(("region",) if region else ()) + ("total", "by_year"))
        if m is None:
            return None
        name = self.unit_ref(m.get("region"), f"{field}.region") if region else "total"
        field = f"{field.rsplit('[', 1)[0]}[{name}]" if region and name else field
        total = self.r.integer(m.get("total"), f"{field}.total", minimum=0)
        by_year_node = m.get("by_year")
        by_year: dict[int, int] = {}
        if by_year_node is not None and not isinstance(by_year_node, MappingNode):
            self.r.error(by_year_node, f"{field}.by_year", "expected a mapping of year → number")
        elif by_year_node is not None:
            for key_node, count_node in by_year_node.value:
                year = self.r.integer(key_node, f"{field}.by_year")
                value = self.r.integer(count_node, f"{field}.by_year.{key_node.value}", minimum=0)
                if year in by_year:
                    self.r.error(key_node, f"{field}.by_year.{year}", "appears twice")
                elif year is not None and value is not None:
                    by_year[year] = value
        if set(by_year) != set(years) and by_year_node is not None:
            self.r.error(by_year_node, f"{field}.by_year",
                         f"has years {sorted(by_year)}, but the breakdown's years are {list(years)}")
        if total is not None and by_year and sum(by_year.values()) != total:
            parts = " + ".join(str(by_year[y]) for y in sorted(by_year))
            self.r.error(m.get("total"), f"{field}.total",
                         f"says {total}, but its years add up to {parts} = {sum(by_year.values())}")
        if name is None or total is None:
            return None
        return RegionTarget(name, total, MappingProxyType(by_year))

    def read_share(self, node: Node, field: str, categories: dict) -> MinimumShare | None:
        m = self.r.mapping(node, field, required=("category", "of", "at_least_percent", "text"))
        if m is None:
            return None
        category = self.r.text(m.get("category"), f"{field}.category")
        if category is not None and category not in categories:
            self.r.error(m.get("category"), f"{field}.category",
                         f'unknown target "{category}"{did_you_mean(category, categories)}')
        of = self.r.choice(m.get("of"), f"{field}.of", ("region-three-year-total", "region-year-total"))
        percent = self.read_percent(m.get("at_least_percent"), f"{field}.at_least_percent")
        text = self.r.text(m.get("text"), f"{field}.text")
        if None in (category, of, percent, text):
            return None
        return MinimumShare(category, of, percent, text)

    def read_percent(self, node: Node | None, field: str) -> float | None:
        value = self.r.number(node, field)
        if value is not None and not (0 < value <= 100):
            self.r.error(node, field, f"a percentage between 0 and 100, found {value}")
            return None
        return value

    def read_ratio(self, node: Node, field: str) -> Ratio | None:
        m = self.r.mapping(node, field, required=("id", "name", "at_least_percent", "by", "text"))
        if m is None:
            return None
        values = (self.r.text(m.get("id"), f"{field}.id"), self.r.text(m.get("name"), f"{field}.name"),
                  self.read_percent(m.get("at_least_percent"), f"{field}.at_least_percent"),
                  self.in_plan(m.get("by"), f"{field}.by", self.r.date(m.get("by"), f"{field}.by")),
                  self.r.text(m.get("text"), f"{field}.text"))
        return None if None in values else Ratio(*values)

    def read_standard(self, node: Node, field: str) -> Standard | None:
        m = self.r.mapping(node, field, required=("id", "text", "section"))
        if m is None:
            return None
        values = tuple(self.r.text(m.get(k), f"{field}.{k}") for k in ("id", "text", "section"))
        return None if None in values else Standard(*values)

    # ── reporting ────────────────────────────────────────────────────────────────────────────

    def read_reporting(self, node: Node | None, field: str, obligations: set[str], units: Mapping) -> Reporting | None:
        m = self.r.mapping(node, field, required=("monthly_report", "bulletins", "final_summary"))
        if m is None:
            return None
        monthly = self.r.mapping(m.get("monthly_report"), f"{field}.monthly_report",
                                 required=("obligation", "receiver", "text", "fields")) or {}
        monthly_obligation = self.obligation_ref(monthly.get("obligation"), f"{field}.monthly_report.obligation",
                                                 obligations)
        receiver = self.unit_ref(monthly.get("receiver"), f"{field}.monthly_report.receiver")
        monthly_text = self.r.text(monthly.get("text"), f"{field}.monthly_report.text")
        located_fields = self.each_located(monthly.get("fields"), f"{field}.monthly_report.fields",
                                           self.read_report_field)
        fields = [f for f, _, _ in located_fields]
        ids = {f.id for f in fields}
        for f, f_node, _ in located_fields:
            if f.part_of is not None and f.part_of not in ids:
                self.r.error(value_node(f_node, "part_of") or f_node, f"{field}.monthly_report.fields[{f.id}].part_of",
                             f'unknown field "{f.part_of}"{did_you_mean(f.part_of, ids)}')
        if len(ids) != len(fields):
            self.r.error(monthly.get("fields"), f"{field}.monthly_report.fields", "a field id is used twice")
        bulletin, bulletin_text = self.report_ref(m.get("bulletins"), f"{field}.bulletins", obligations)
        final, final_text = self.report_ref(m.get("final_summary"), f"{field}.final_summary", obligations)
        values = (monthly_obligation, receiver, monthly_text, bulletin, bulletin_text, final, final_text)
        if None in values or not fields:
            return None
        return Reporting(monthly_obligation, receiver, monthly_text, tuple(fields), bulletin, bulletin_text, final,
                         final_text)

    def read_report_field(self, node: Node, field: str) -> ReportField | None:
        m = self.r.mapping(node, field, required=("id", "name"), optional=("part_of",))
        if m is None:
            return None
        fid, name = (self.r.text(m.get("id"), f"{field}.id", max_length=ID_LENGTH),
                     self.r.text(m.get("name"), f"{field}.name"))
        part_of = self.r.text(m.get("part_of"), f"{field}.part_of") if "part_of" in m else None
        return ReportField(fid, name, part_of) if fid and name else None

    def report_ref(self, node: Node | None, field: str, obligations: set[str]) -> tuple[str | None, str | None]:
        m = self.r.mapping(node, field, required=("obligation", "text"))
        if m is None:
            return None, None
        return (self.obligation_ref(m.get("obligation"), f"{field}.obligation", obligations),
                self.r.text(m.get("text"), f"{field}.text"))

    def obligation_ref(self, node: Node | None, field: str, obligations: set[str]) -> str | None:
        value = self.r.text(node, field)
        if value is not None and value not in obligations and value not in self.unusable["obligation"]:
            self.r.error(node, field, f'unknown obligation "{value}"{did_you_mean(value, obligations)}')
            return None
        return value
