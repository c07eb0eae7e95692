"""Shared fixtures: real databases — SQLite files, and PostgreSQL for the tests marked both_databases —
migrated by Alembic and loaded with the seed plan.

Migrating and loading the seed plan takes a couple of seconds, so it happens once per session and database
into a template; every test gets its own copy of it (tests/database_support.py), and so its own database that no
other test sees.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from responsibilities.errors import DomainError
from responsibilities.plan.loader import load_plan
from responsibilities.plan.model import Plan
from responsibilities.storage import migrate, plan_sync
from responsibilities.tracking import services
from responsibilities.tracking.evidence import EvidenceStore

import postgres_cluster
from database_support import Database, PostgresDatabase, PostgresStore, SqliteDatabase, SqliteStore, copy_database  # noqa: F401 - PostgresDatabase, SqliteDatabase and copy_database are for the tests

ROOT = Path(__file__).resolve().parents[1]
SEED_PLAN = ROOT / "deadlines.yaml"
SEED_ID = "guigang-skills-2019"  # the seed plan's id


def seed_key(ref: str) -> str:
    """The seed plan's ``ref`` qualified: the key a fresh load stores its obligation under, and the reference links
    name a deliverable by (<plan>:<ref>)."""
    return f"{SEED_ID}:{ref}"
SHANGHAI = ZoneInfo("Asia/Shanghai")

OFFICE, LEADER = "office", "leader"
HRSS, FINANCE, GUIPING, UNION = "hrss-clerk", "finance-clerk", "guiping-clerk", "union-clerk"
USERS = {OFFICE: "office", HRSS: "unit:hrss", FINANCE: "unit:finance", GUIPING: "unit:guiping",
         UNION: "unit:union", LEADER: "leader"}


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A moment in Guigang: every ``now`` a service sees is aware."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


LOADED_AT = at(2019, 10, 23)  # the plan's publication day


def run_duban(workdir: Path, *args: str, database: Database | None = None) -> subprocess.CompletedProcess:
    """`duban ARGS` in ``workdir`` as a user would run it: the plan and evidence folder from ``workdir``'s
    defaults, not this environment's, and so the database unless ``database`` is given (DUBAN_DATABASE_URL);
    a traceback on stderr fails the test."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DUBAN_TIME_ZONE": "Asia/Shanghai"}
    for name in ("DUBAN_DATABASE_URL", "DUBAN_PLAN", "DUBAN_EVIDENCE_DIR"):
        env.pop(name, None)
    if database is not None:
        env["DUBAN_DATABASE_URL"] = database.url
    result = subprocess.run([sys.executable, "-m", "workflows.cli", *args], cwd=workdir, env=env,
                            capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def monthly_report(total: int = 1000, enterprise: int = 600, key: int = 300, apprentices: int = 10) -> dict[str, int]:
    """A complete monthly report of the seed plan's fields."""
    return {"total": total, "enterprise-workers": enterprise, "key-groups": key, "graduates": key // 3,
            "migrant-workers": key // 3, "school-leavers": 0, "laid-off": 0, "veterans": 0, "hard-to-employ": 0,
            "poor-labour": total - enterprise - key, "new-apprentices": apprentices}


@contextmanager
def database_unchanged(database: Database) -> Iterator[None]:
    """Assert that the block (typically a refused action) wrote nothing anywhere in the database."""
    before = database.dump()
    try:
        yield
    finally:
        after = database.dump()
        if after != before:
            diff = list(difflib.unified_diff(before, after, "before", "after", n=0, lineterm=""))
            pytest.fail("the database changed:\n" + "\n".join(diff[:40]))



def at_once(database: Database, gate: str, *attempts: Callable[[sessionmaker[Session]], object]) -> list[str]:
    """Run ``attempts`` in threads that start together while a plain connection holds ``gate`` (an UPDATE: the
    write lock on SQLite, the row's lock on PostgreSQL), then let them go: each one's outcome, in order ("done",
    a domain error's message, or any other exception's type and text)."""
    outcomes: dict[int, str] = {}

    def attempt(n: int) -> None:
        try:
            attempts[n](database.session_factory)
            outcomes[n] = "done"
        except DomainError as refused:
            outcomes[n] = str(refused)
        except Exception as failed:  # noqa: BLE001 - the outcome under test: anything but a domain error fails
            outcomes[n] = f"{type(failed).__name__}: {failed}"

    with database.raw() as holder:
        holder.execute(text(gate))
        threads = [threading.Thread(target=attempt, args=(n,)) for n in range(len(attempts))]
        for thread in threads:
            thread.start()
        time.sleep(1)  # time for every attempt to reach the gate and wait there
        holder.rollback()
    for thread in threads:
        thread.join(timeout=30)
    return [outcomes[n] for n in range(len(attempts))]


# ── SQLite and PostgreSQL ──────────────────────────────────────────────────────────────────────────────
#
# The modules the fast loop (`make test-fast`: pytest -m "not slow") leaves out as a whole, and why; single slow
# tests elsewhere carry @pytest.mark.slow (they run the command line as a process, or race two at once).
SLOW_MODULES = {
    "test_install.py": "builds a virtualenv from the lock",
    "test_scale_out.py": "starts a Prefect server and a worker",
    "test_flows_prefect.py": "runs the flows through Prefect's engine",
    "test_browser.py": "drives Chromium", "test_browser_figures.py": "drives Chromium",
    "test_browser_import.py": "drives Chromium",
    "test_simulate.py": "replays the plan",
    "test_serve.py": "starts `duban serve` and stops it with signals",
    "test_proxy.py": "starts `duban serve` behind a proxy",
    "test_scheduler.py": "waits on scheduler leases in real time",
    "test_delivery_outages.py": "waits on claims and retries in real time",
    "test_cli_web.py": "runs the command line as processes",
    "test_cli_notices.py": "runs the command line as processes",
    "test_cli_tracking.py": "runs the command line as processes",
    "test_cli_plans.py": "runs the command line as processes",
    "test_cli_import.py": "runs the command line as processes",
    # The hostile-input suites: hundreds of cases, most signing in (Argon2 on purpose); `make test` runs them all.
    "test_hostile_evidence.py": "hundreds of hostile cases", "test_hostile_figures.py": "hundreds of hostile cases",
    "test_hostile_text.py": "hundreds of hostile cases", "test_hostile_web.py": "hundreds of hostile cases",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


# Tests marked both_databases (storage code: migrations, services, triggers, the sweep, the web's rules …) run
# once per database: their ``database`` — and ``loaded``, ``session_factory``, ``web_db`` built on it — is a
# parameter, ids [sqlite] and [postgresql]. Other tests run on SQLite only. DUBAN_TEST_POSTGRES (auto, required,
# off) and DUBAN_TEST_POSTGRES_URL decide where the PostgreSQL cases run: see tests/postgres_cluster.py.

DIALECTS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "dialect" not in metafunc.fixturenames:
        return
    only = metafunc.definition.get_closest_marker("only_on")
    if only is not None:  # where the databases truly differ; the marker says why
        assert only.args[0] in DIALECTS and len(only.args) == 2, "only_on(DIALECT, WHY)"
        metafunc.parametrize("dialect", only.args[:1], indirect=True)
    elif metafunc.definition.get_closest_marker("both_databases"):
        metafunc.parametrize("dialect", DIALECTS, indirect=True)


@pytest.fixture
def dialect(request: pytest.FixtureRequest) -> str:
    """The database this test runs on: "sqlite", unless both_databases made it a parameter."""
    kind = getattr(request, "param", "sqlite")
    request.node.user_properties.append(("database", kind))
    return kind


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> Iterator[postgres_cluster.Server]:
    """The session's PostgreSQL server, started on first use; per DUBAN_TEST_POSTGRES, a missing one skips
    the PostgreSQL cases (auto) or fails them (required)."""
    if postgres_cluster.mode() == "off":
        pytest.skip(f"{postgres_cluster.MODE}=off: PostgreSQL cases not run")
    try:
        server = postgres_cluster.server()
    except postgres_cluster.Unavailable as missing:
        if postgres_cluster.mode() == "required":
            pytest.fail(f"{postgres_cluster.MODE}=required, but no PostgreSQL: {missing}", pytrace=False)
        pytest.skip(f"no PostgreSQL ({missing}); {postgres_cluster.MODE}=required makes this a failure")
    request.addfinalizer(server.stop)
    yield server


def build_template(name: str, template: Database) -> None:
    """Turn ``template`` (a copy of the template before ``name``, or an empty database) into template ``name``."""
    if name == "empty":
        pass
    elif name == "migrated":
        migrate.upgrade(template.engine)  # by migrations, never create_all
    elif name == "loaded":  # the seed plan synced on 2019-10-23 09:00 and the users of USERS added
        plan_sync.sync_plan(template.session_factory, load_plan(SEED_PLAN), now=LOADED_AT)
        for user, role in USERS.items():
            services.add_user(template.session_factory, name=user, role=role, now=LOADED_AT)
    elif name == "accounts":  # a web password for every user (Argon2 hashing is slow on purpose)
        from responsibilities.tracking.accounts import set_password

        from web_support import PASSWORD

        for user in USERS:
            set_password(template.session_factory, name=user, password=PASSWORD, now=LOADED_AT)
    else:
        raise ValueError(f"no template {name!r}")


@pytest.fixture(scope="session")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> SqliteStore:
    return SqliteStore(tmp_path_factory.mktemp("templates"), build_template)


@pytest.fixture(scope="session")
def postgresql_store(postgres_server: postgres_cluster.Server) -> Iterator[PostgresStore]:
    store = PostgresStore(postgres_server, build_template)
    yield store
    store.close()  # a shared server (DUBAN_TEST_POSTGRES_URL) keeps nothing of ours


@pytest.fixture
def store(request: pytest.FixtureRequest, dialect: str) -> SqliteStore | PostgresStore:
    return request.getfixturevalue(f"{dialect}_store")


# ── session-wide templates (SQLite files, for the tests that serve or copy a file) ─────────────────────


@pytest.fixture(scope="session")
def plan() -> Plan:
    """The seed plan; a Plan is frozen, so one serves every test."""
    return load_plan(SEED_PLAN)


@pytest.fixture(scope="session")
def migrated_template(sqlite_store: SqliteStore) -> Path:
    return sqlite_store.template("migrated")


@pytest.fixture(scope="session")
def loaded_template(sqlite_store: SqliteStore) -> Path:
    return sqlite_store.template("loaded")


@pytest.fixture(scope="session")
def accounts_template(sqlite_store: SqliteStore) -> Path:
    return sqlite_store.template("accounts")


# ── per-test databases ─────────────────────────────────────────────────────────────────────────────────

# The fullest template a test asks for, by the fixtures it uses: its database is copied from that one alone.
CONTENTS = (("web_db", "accounts"), ("loaded", "loaded"), ("empty_database", "empty"))


@pytest.fixture
def database(request: pytest.FixtureRequest, store: SqliteStore | PostgresStore, tmp_path: Path) -> Iterator[Database]:
    """A fresh database with duban's schema (by migrations), no plan; or, for a test that also asks for
    ``loaded``, ``web_db`` or ``empty_database``, what those promise. Its own: no other test sees it."""
    template = next((t for fixture, t in CONTENTS if fixture in request.fixturenames), "migrated")
    database = store.new(template, tmp_path)
    yield database
    store.discard(database)


@pytest.fixture
def empty_database(database: Database) -> Database:
    """``database`` without duban's schema: what a new install points duban at."""
    assert database.template == "empty"
    return database


@pytest.fixture
def loaded(database: Database) -> Database:
    """``database`` with the seed plan synced on 2019-10-23 09:00 and the users of USERS added."""
    assert database.template in ("loaded", "accounts")
    return database


@pytest.fixture
def session_factory(database: Database) -> sessionmaker[Session]:
    """The session factory of ``database`` (loaded, when the test also asks for ``loaded``)."""
    return database.session_factory


@pytest.fixture
def evidence_store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "evidence")


@pytest.fixture
def web_db(database: Database) -> Database:
    """``loaded``, and every user can sign in with web_support.PASSWORD."""
    assert database.template == "accounts"
    return database


# ── how many ran where ─────────────────────────────────────────────────────────────────────────────────


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line for CI: how many tests that use a database passed on each (and why PostgreSQL's were skipped)."""
    passed = {kind: 0 for kind in DIALECTS}
    for report in terminalreporter.stats.get("passed", []):
        if report.when == "call":
            kind = dict(report.user_properties).get("database")
            if kind:
                passed[kind] += 1
    line = f"databases: {passed['sqlite']} tests passed on SQLite, {passed['postgresql']} on PostgreSQL"
    skipped = [str(r.longrepr[2]).removeprefix("Skipped: ") for r in terminalreporter.stats.get("skipped", [])
               if dict(r.user_properties).get("database") == "postgresql" and isinstance(r.longrepr, tuple)]
    if skipped:
        line += f"; {len(skipped)} skipped on PostgreSQL: {'; '.join(sorted(set(skipped)))}"
    terminalreporter.write_line(line)


# ── the browser tests' Chromium (tests/browser_support.py) ───────────────────────────────────────


@pytest.fixture(scope="module")
def chromium() -> str:
    """The system's Chromium: fails (or skips, when a developer opted out) before a server is started."""
    from browser_support import chromium_executable

    return chromium_executable()


@pytest.fixture(scope="module")
def browser(chromium: str):  # a Playwright Browser, one per module
    from browser_support import chromium_browser

    with chromium_browser(chromium) as launched:
        yield launched
