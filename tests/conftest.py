"""Shared fixtures: real SQLite files, migrated by Alembic and loaded with the seed plan.

Migrating and loading the seed plan takes a couple of seconds, so it happens once per session into a
template file; every test gets its own copy of that file (a closed SQLite file is just bytes), and so
its own database that no other test sees.
"""

from __future__ import annotations

import difflib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from responsibilities import db, migrate, plan_sync, services
from responsibilities.evidence import EvidenceStore
from responsibilities.plan import load_plan
from responsibilities.plan_model import Plan

ROOT = Path(__file__).resolve().parents[1]
SEED_PLAN = ROOT / "deadlines.yaml"
SHANGHAI = ZoneInfo("Asia/Shanghai")

OFFICE, LEADER = "office", "leader"
HRSS, FINANCE, GUIPING, UNION = "hrss-clerk", "finance-clerk", "guiping-clerk", "union-clerk"
USERS = {OFFICE: "office", HRSS: "unit:hrss", FINANCE: "unit:finance", GUIPING: "unit:guiping",
         UNION: "unit:union", LEADER: "leader"}


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A moment in Guigang: every ``now`` a service sees is aware."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


LOADED_AT = at(2019, 10, 23)  # the plan's publication day


@dataclass
class Database:
    """One SQLite file and the engine and session factory duban uses on it."""

    path: Path
    engine: Engine = field(init=False)
    session_factory: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.engine = db.make_engine(self.url)
        self.session_factory = db.make_session_factory(self.engine)

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    def raw(self) -> sqlite3.Connection:
        """A plain sqlite3 connection, without duban's settings: what someone with the file could do."""
        return sqlite3.connect(self.path)

    def dump(self) -> list[str]:
        """Every row of every table as SQL: two equal dumps mean nothing at all was written."""
        connection = self.raw()
        try:
            return list(connection.iterdump())
        finally:
            connection.close()

    def count(self, table: str) -> int:
        connection = self.raw()
        try:
            return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - test code
        finally:
            connection.close()

    def close(self) -> None:
        self.engine.dispose()


def run_duban(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """`duban ARGS` in ``workdir`` as a user would run it: the database, plan and evidence folder from
    ``workdir``'s defaults, not this environment's; a traceback on stderr fails the test."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DUBAN_TIME_ZONE": "Asia/Shanghai"}
    for name in ("DUBAN_DATABASE_URL", "DUBAN_PLAN", "DUBAN_EVIDENCE_DIR"):
        env.pop(name, None)
    result = subprocess.run([sys.executable, "-m", "workflows.cli", *args], cwd=workdir, env=env,
                            capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def monthly_report(total: int = 1000, enterprise: int = 600, key: int = 300, apprentices: int = 10) -> dict[str, int]:
    """A complete monthly report of the seed plan's fields."""
    return {"total": total, "enterprise-workers": enterprise, "key-groups": key, "graduates": key // 3,
            "migrant-workers": key // 3, "school-leavers": 0, "laid-off": 0, "veterans": 0, "hard-to-employ": 0,
            "poor-labour": total - enterprise - key, "new-apprentices": apprentices}


def copy_database(source: Path, target: Path) -> None:
    """Copy a closed SQLite file. Its engine was disposed, so the WAL was checkpointed into the file."""
    for suffix in ("-wal", "-shm"):
        assert not Path(f"{source}{suffix}").exists(), f"{source} still has a {suffix} file: is a connection open?"
    shutil.copy(source, target)


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


# ── session-wide templates ─────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="session")
def plan() -> Plan:
    """The seed plan; a Plan is frozen, so one serves every test."""
    return load_plan(SEED_PLAN)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("templates") / "migrated.sqlite3"
    template = Database(path)
    try:
        migrate.upgrade(template.engine)
    finally:
        template.close()
    return path


@pytest.fixture(scope="session")
def loaded_template(tmp_path_factory: pytest.TempPathFactory, migrated_template: Path, plan: Plan) -> Path:
    path = tmp_path_factory.mktemp("templates") / "loaded.sqlite3"
    copy_database(migrated_template, path)
    template = Database(path)
    try:
        plan_sync.sync_plan(template.session_factory, plan, now=LOADED_AT)
        for name, role in USERS.items():
            services.add_user(template.session_factory, name=name, role=role, now=LOADED_AT)
    finally:
        template.close()
    return path


# ── per-test databases ─────────────────────────────────────────────────────────────────────────


@pytest.fixture
def database(tmp_path: Path, migrated_template: Path) -> Iterator[Database]:
    """A fresh SQLite file under tmp_path with duban's schema (by migrations, never create_all), no plan."""
    path = tmp_path / "duban.sqlite3"
    copy_database(migrated_template, path)
    database = Database(path)
    yield database
    database.close()


@pytest.fixture
def loaded(database: Database, loaded_template: Path) -> Database:
    """``database`` with the seed plan synced on 2019-10-23 09:00 and the users of USERS added."""
    database.close()  # no connection may be open while the file is replaced
    for suffix in ("-wal", "-shm"):
        Path(f"{database.path}{suffix}").unlink(missing_ok=True)
    copy_database(loaded_template, database.path)
    return database


@pytest.fixture
def session_factory(database: Database) -> sessionmaker[Session]:
    """The session factory of ``database`` (loaded, when the test also asks for ``loaded``)."""
    return database.session_factory


@pytest.fixture
def evidence_store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "evidence")


# ── the web application ────────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="session")
def accounts_template(tmp_path_factory: pytest.TempPathFactory, loaded_template: Path) -> Path:
    """``loaded_template`` with a web password for every user of USERS (Argon2 hashing is slow on purpose)."""
    from responsibilities.accounts import set_password
    from web_support import PASSWORD

    path = tmp_path_factory.mktemp("templates") / "accounts.sqlite3"
    copy_database(loaded_template, path)
    template = Database(path)
    try:
        for name in USERS:
            set_password(template.session_factory, name=name, password=PASSWORD, now=LOADED_AT)
    finally:
        template.close()
    return path


@pytest.fixture
def web_db(database: Database, accounts_template: Path) -> Database:
    """``loaded``, and every user can sign in with web_support.PASSWORD."""
    database.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{database.path}{suffix}").unlink(missing_ok=True)
    copy_database(accounts_template, database.path)
    return database
