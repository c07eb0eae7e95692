"""The architecture, checked: the packages' direction, the order of the subpackages, no import cycles (at module level
or inside functions), one vocabulary, and ruff's rules.

workflows → notifications → responsibilities, never back. Inside responsibilities the layers run upwards:
vocabulary, errors and limits, zips (the zip-bomb guard), deadlines, plan, importing (documents read into plans),
storage, tracking, reading, figures, notices, reports; a layer imports only the ones below it. Inside workflows: the
shared settings at the bottom, then schedule and replay, then web, the server process (web and scheduler together),
and the command line on top.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("responsibilities", "notifications", "workflows")
FORBIDDEN = {"responsibilities": {"notifications", "workflows"}, "notifications": {"workflows"}}
LAYERS = {
    "responsibilities": ["vocabulary", "errors", "limits", "zips", "deadlines", "plan", "importing", "storage",
                         "tracking", "reading", "figures", "notices", "reports"],
    "workflows": ["settings", "paths", "failures", "runtime", "schedule", "replay", "web", "flows", "server", "cli"],
}
CJK = re.compile(r"[\u4e00-\u9fff]")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "versions" in path.parts:  # migration scripts: run by Alembic, imported by nobody
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imports_of(path: Path, known: dict[str, Path]) -> set[str]:
    """The project's modules ``path`` imports, anywhere in it (inside functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                names.add(full if full in known else node.module)
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return {name for name in names if name in known}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(path, known) - {name} for name, path in known.items()}


def layer_of(module: str) -> tuple[str, int] | None:
    package, _, rest = module.partition(".")
    if package not in LAYERS or not rest:
        return None
    first = rest.split(".")[0]
    return (package, LAYERS[package].index(first)) if first in LAYERS[package] else None


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_packages_never_import_higher_ones(package):
    offenders = {module: sorted({d.split(".")[0] for d in deps} & FORBIDDEN[package])
                 for module, deps in graph().items() if module.split(".")[0] == package}
    assert {module: names for module, names in offenders.items() if names} == {}


def test_every_module_has_its_place_in_the_layers():
    unplaced = [m for m in modules() if m.split(".")[0] in LAYERS and "." in m and layer_of(m) is None]
    assert unplaced == []


def test_a_layer_imports_only_the_layers_below_it():
    upward = []
    for module, deps in graph().items():
        mine = layer_of(module)
        for dep in deps:
            theirs = layer_of(dep)
            if mine and theirs and mine[0] == theirs[0] and theirs[1] > mine[1]:
                upward.append(f"{module} → {dep}")
    assert upward == []


def test_there_is_no_import_cycle_anywhere():
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in edges:
        if node not in index:
            visit(node)
    assert cycles == []


INTERFACES = ("workflows.web", "workflows.cli")


def test_the_interfaces_read_and_change_through_the_use_cases_never_the_orm():
    """The pages, the API and the commands call responsibilities' functions; none builds a query or touches a
    record (the sessionmaker's type apart, and the tuple of states their filters offer)."""
    allowed = {("sqlalchemy.orm", "Session"), ("sqlalchemy.orm", "sessionmaker"),
               ("responsibilities.storage.model", "STATES")}
    found = []
    for module, path in modules().items():
        if not module.startswith(INTERFACES):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and (
                    node.module.startswith("sqlalchemy") or node.module == "responsibilities.storage.model"):
                found += [f"{module}: {node.module}.{a.name}" for a in node.names
                          if (node.module, a.name) not in allowed]
            elif isinstance(node, ast.Import):
                found += [f"{module}: {a.name}" for a in node.names if a.name.startswith("sqlalchemy")]
    assert found == []


# ── one vocabulary ───────────────────────────────────────────────────────────────────────────────


def word_tables(path: Path) -> list[str]:
    """Module-level tables of words: a *_NAMES name, or a dict of three or more keys all mapped to Chinese."""
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.Assign):
            continue
        names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        value = node.value
        chinese_dict = (isinstance(value, ast.Dict) and len(value.values) >= 3
                        and all(isinstance(v, ast.Constant) and isinstance(v.value, str) and CJK.search(v.value)
                                for v in value.values))
        if chinese_dict or any(n.endswith("_NAMES") for n in names):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {', '.join(names)}")
    return found


def test_every_word_a_person_reads_for_a_thing_comes_from_the_one_vocabulary():
    elsewhere = [table for module, path in modules().items() if module != "responsibilities.vocabulary"
                 for table in word_tables(path)]
    assert elsewhere == []


def audit_actions() -> set[str]:
    """Every action the code writes to the audit trail: literal ``action=`` arguments, the plan loader's
    ``audit_changes`` actions, and the few it composes."""
    actions = {"sign-in", "sign-in.failed", "extension.grant", "extension.refuse", "units.retired", "people.retired",
               "obligations.retired", "figures.correct"}  # composed: see accounts, services, plan_sync, figures
    for path in (ROOT / "responsibilities").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            callee = getattr(node.func, "attr", getattr(node.func, "id", ""))
            literal = [k.value.value for k in node.keywords if k.arg == "action" and isinstance(k.value, ast.Constant)]
            if callee == "audit_changes" and node.args and isinstance(node.args[0], ast.Constant):
                literal.append(node.args[0].value)
            actions |= {a for a in literal if isinstance(a, str)}
    return actions


def test_every_action_the_audit_trail_records_has_a_name():
    from responsibilities.vocabulary import ACTION_NAMES

    actions = audit_actions()
    assert len(actions) >= 20 and actions - set(ACTION_NAMES) == set()


# ── ruff ─────────────────────────────────────────────────────────────────────────────────────────


def test_the_code_passes_ruff():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is in the lock (the test extra): `make` installs it"
    result = subprocess.run([ruff, "check", "--output-format", "concise", str(ROOT)], capture_output=True, text=True,
                            timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-4000:]


# ── the event loop ───────────────────────────────────────────────────────────────────────────────

LOOP_SAFE = {"read_form", "form", "run_in_threadpool", "_action", "NotFound"}  # calls an async route may make


def test_async_routes_only_read_the_request_and_hand_the_work_to_a_worker_thread():
    """A transaction, a password hash or a workbook on the event loop stalls every request; an ``async`` route may
    only await the request's form and pass the rest to ``run_in_threadpool`` (nested functions run there)."""
    found = []
    for module, path in modules().items():
        if not module.startswith(("workflows.web.pages", "workflows.web.api")):
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.AsyncFunctionDef):
                continue
            for call in _calls_outside_nested_functions(node):
                name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "?")
                if name not in LOOP_SAFE:
                    found.append(f"{module}.{node.name} calls {name} on the event loop")
    assert found == []


def _calls_outside_nested_functions(function: ast.AsyncFunctionDef) -> list[ast.Call]:
    calls, pending = [], list(function.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Call):
            calls.append(node)
        pending.extend(ast.iter_child_nodes(node))
    return calls
