"""Unit names as a document writes them, resolved against the office's directory of units and groups.

A name resolves when its normalised form equals that of a unit's official name, short name or alias: the city's
name or 市 in front, 和 between words, blanks and the form of brackets do not count, and the usual abbreviations
(人社局 for 人力资源社会保障局, 发改委 for 发展改革委…) read as what they stand for. Nothing closer than that: a
name that matches nothing is proposed as a new unit, never mapped to a near miss; a name that matches two units is
a question for the office. After the first unit of a cell, later ones often drop the 市 the first one had
(市人力资源社会保障局、总工会、教育局): they are read with it too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Long forms → the abbreviation offices write; both sides of a comparison are rewritten to the short form.
ABBREVIATIONS = (
    ("人力资源社会保障", "人社"), ("人力资源和社会保障", "人社"), ("发展和改革委员会", "发改委"),
    ("发展改革委员会", "发改委"), ("发展改革委", "发改委"), ("工业和信息化", "工信"), ("工业信息化", "工信"),
    ("住房和城乡建设", "住建"), ("住房城乡建设", "住建"), ("市场监督管理", "市场监管"),
    ("国有资产监督管理委员会", "国资委"), ("退役军人事务", "退役军人"), ("卫生健康委员会", "卫健委"),
    ("卫生和计划生育委员会", "卫计委"), ("管理委员会", "管委会"), ("生态环境", "环境"),
    ("自然资源和规划", "自然资源"), ("交通运输", "交通"),
)
# Where several units of one cell are listed: 、，,;； and blanks or line breaks, but never inside brackets
# (各县(市、区)人民政府 is one name).
SEPARATORS = "、，,;；\n "
OPENING, CLOSING = "((〔[【", "))〕]】"


@dataclass(frozen=True)
class DirectoryEntry:
    """A unit or a group the office knows, with every name it goes by."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    group: bool = False
    kind: str = "department"  # a unit's kind (plan.model.UNIT_KINDS), for the draft's units section
    emails: tuple[str, ...] = ()
    members: tuple[str, ...] = ()  # a group's units


@dataclass(frozen=True)
class Resolution:
    """What a name in the document resolved to: one unit or group (``id``), several (``candidates``), or none."""

    name: str  # as the document writes it
    id: str | None
    candidates: tuple[str, ...] = ()  # ids, when the name matches more than one
    group: bool = False

    @property
    def status(self) -> str:
        if self.id is not None:
            return "group" if self.group else "known"
        return "ambiguous" if self.candidates else "unknown"


@dataclass
class Directory:
    """The office's units and groups, indexed by the normalised forms of their names."""

    entries: tuple[DirectoryEntry, ...] = ()
    city: str = ""  # the city's name (贵港): "贵港市教育局" and "市教育局" are the same name
    _index: dict[str, set[str]] = field(default_factory=dict, init=False, repr=False)
    _groups: set[str] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.city:
            self.city = _common_city(self.entries)
        for entry in self.entries:
            for name in (entry.name, entry.id, *entry.aliases):
                self._index.setdefault(self.key(name), set()).add(entry.id)
            if entry.group:
                self._groups.add(entry.id)

    def key(self, name: str) -> str:
        """The form two names are compared in."""
        text = re.sub(r"\s+", "", name)
        for o, c in zip(OPENING, CLOSING, strict=True):
            text = text.replace(o, "(").replace(c, ")")
        if self.city and text.startswith(self.city + "市"):
            text = text[len(self.city):]
        text = text.removeprefix("市") if len(text) > 2 else text
        for long, short in ABBREVIATIONS:
            text = text.replace(long, short)
        return text.replace("和", "")

    def entry(self, entry_id: str) -> DirectoryEntry | None:
        return next((e for e in self.entries if e.id == entry_id), None)

    def resolve(self, name: str, *, prefix: str = "") -> Resolution:
        """``name`` resolved; ``prefix`` is tried in front of it when it alone matches nothing (the 市 that
        the first unit of a cell had and later ones drop)."""
        ids = self._index.get(self.key(name), set())
        if not ids and prefix:
            ids = self._index.get(self.key(prefix + name), set())
        if len(ids) == 1:
            (found,) = ids
            return Resolution(name, found, group=found in self._groups)
        return Resolution(name, None, tuple(sorted(ids)))


def split_units(cell: str) -> list[str]:
    """The unit names of one cell, in order: split at the separators outside brackets; 等 at the end dropped."""
    names, depth, current = [], 0, []
    for char in cell:
        if char in OPENING:
            depth += 1
        elif char in CLOSING:
            depth = max(depth - 1, 0)
        if char in SEPARATORS and depth == 0:
            names.append("".join(current))
            current = []
        else:
            current.append(char)
    names.append("".join(current))
    cleaned = [re.sub(r"(等(单位|部门)?|[。.])$", "", n.strip()).strip() for n in names]
    return [n for n in cleaned if n]


def unit_prefix(first: str) -> str:
    """The prefix later names of a cell leave out: 市 from 市人力资源社会保障局, 区 from 区教育局."""
    match = re.match(r"^([\u4e00-\u9fff]{0,3}?[市县区])", first)
    return match.group(1) if match and len(first) > len(match.group(1)) + 1 else ""


def _common_city(entries: tuple[DirectoryEntry, ...]) -> str:
    """The city most official names start with (贵港 from 贵港市教育局…), or "" when there is none."""
    counts: dict[str, int] = {}
    for entry in entries:
        match = re.match(r"^([\u4e00-\u9fff]{2,3})市", entry.name)
        if match:
            counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    best = max(counts.items(), key=lambda kv: kv[1], default=("", 0))
    return best[0] if best[1] >= 3 else ""
