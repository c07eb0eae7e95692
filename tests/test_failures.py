"""The failures duban expects read as one line a person can act on, and leave nothing half-written."""

from __future__ import annotations

import errno

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from responsibilities.storage import plan_sync
from workflows.failures import known_failure

from conftest import LOADED_AT, database_unchanged


def test_a_full_disk_under_sqlite_is_one_line_saying_so_and_the_load_wrote_nothing(database, plan):
    with database.raw() as connection:
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar_one()

    @event.listens_for(database.engine, "connect")
    def no_room_to_grow(dbapi_connection, _record):  # what a full disk does to SQLite
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    database.engine.dispose()
    with database_unchanged(database), pytest.raises(OperationalError) as full:
        plan_sync.sync_plan(database.session_factory, plan, now=LOADED_AT)
    message = known_failure(full.value)
    assert message.startswith("数据库所在磁盘已满") and "未完成的操作没有写入任何内容" in message
    assert "\n" not in message


def test_a_full_disk_when_writing_a_file_names_the_file():
    error = OSError(errno.ENOSPC, "No space left on device", "/var/lib/duban/reports/summary-2019.xlsx")
    assert known_failure(error) == "磁盘已满,无法写入 /var/lib/duban/reports/summary-2019.xlsx:请清理磁盘空间后重试"


def test_an_unexpected_error_is_not_dressed_up_as_a_known_one():
    assert known_failure(KeyError("bug")) is None


@pytest.mark.only_on("postgresql", "SQLite keeps a longer text than its column says; PostgreSQL refuses it")
def test_a_value_the_database_cannot_keep_is_one_line_and_nothing_is_written(loaded):
    from sqlalchemy import text
    from sqlalchemy.exc import DataError

    with database_unchanged(loaded), pytest.raises(DataError) as refused:
        with loaded.session_factory.begin() as session:
            session.execute(text("UPDATE units SET kind = :kind WHERE id = 'hrss'"), {"kind": "k" * 100})
    message = known_failure(refused.value)
    assert message.startswith("数据库拒绝了过长或超出范围的内容") and "未写入任何内容" in message
