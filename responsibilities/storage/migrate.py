"""Schema migrations (Alembic), run programmatically: `duban db upgrade`, and `duban load` on a new database.

The schema is created only here, never by ``create_all`` in production paths.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, inspect

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD = "0012"  # the newest revision; a test checks it against the migration scripts


class SchemaOutOfDate(RuntimeError):
    pass


def _config(connection):
    from alembic.config import Config  # imported on demand: Alembic is only needed to migrate

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Migrate to ``revision``; returns (from, to)."""
    from alembic import command

    before = current_revision(engine)
    with engine.begin() as connection:
        command.upgrade(_config(connection), revision)
    return before, current_revision(engine) or ""


def require_current(engine: Engine) -> None:
    """Refuse to work on a database whose schema is missing or behind, with what to run."""
    revision = current_revision(engine)
    if revision != HEAD:
        state = "还没有 duban 的表结构" if revision is None else f"的表结构版本为 {revision},duban 需要 {HEAD}"
        raise SchemaOutOfDate(f"数据库 {engine.url.render_as_string(hide_password=True)} {state}:"
                              "请运行 `duban db upgrade`(或 `duban load`,它会先升级数据库)")
