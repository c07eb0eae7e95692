"""What the benchmarks need of a PostgreSQL database they fill (``--database-url``).

The URL names an existing, **empty** database (no table, view, sequence or function in its current schema): the
benchmark migrates it with the real Alembic migrations, fills it, and unless ``--keep`` drops everything it
created afterwards, leaving the database as empty as it found it. A database that already has objects is
refused, unless ``--reuse`` says it is one the same benchmark built and kept (the sweep benchmark then checks
the schema revision and the sizes, and skips building). Nothing here creates or drops a database, so the role
needs no CREATEDB right, only ownership of what it creates.
"""

from __future__ import annotations

from importlib.metadata import version

from sqlalchemy import Engine

# Shown with every PostgreSQL figure: what the server was asked to do (durability above all).
SETTINGS = ("synchronous_commit", "fsync", "wal_sync_method", "full_page_writes", "shared_buffers", "work_mem",
            "effective_cache_size", "max_wal_size", "jit", "random_page_cost")

_OBJECTS = ("SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = current_schema()::regnamespace) "
            "+ (SELECT count(*) FROM pg_proc WHERE pronamespace = current_schema()::regnamespace)")


def schema_objects(engine: Engine) -> int:
    """Tables, indexes, sequences, views and functions in the connection's current schema."""
    with engine.connect() as connection:
        return connection.exec_driver_sql(_OBJECTS).scalar_one()


def require_empty(engine: Engine, reuse: bool) -> bool:
    """True when the database is empty (fill it); False when ``reuse`` allows using what is there."""
    objects = schema_objects(engine)
    if objects and not reuse:
        raise SystemExit(f"{safe_url(engine)} is not empty ({objects} objects in its schema): the benchmark "
                         "fills an empty database and drops what it created afterwards; point --database-url at an "
                         "empty one (CREATE DATABASE …), or pass --reuse for one this benchmark built and kept")
    return objects == 0


def drop_created(engine: Engine) -> None:
    """Drop every table and function in the current schema: all of it was created by the benchmark, which
    refused to start on a database that had any (``require_empty``)."""
    with engine.begin() as connection:
        tables = connection.exec_driver_sql("SELECT quote_ident(tablename) FROM pg_tables "
                                            "WHERE schemaname = current_schema()").scalars().all()
        if tables:
            connection.exec_driver_sql(f"DROP TABLE {', '.join(tables)} CASCADE")
        functions = connection.exec_driver_sql("SELECT oid::regprocedure::text FROM pg_proc "
                                               "WHERE pronamespace = current_schema()::regnamespace").scalars().all()
        for function in functions:
            connection.exec_driver_sql(f"DROP FUNCTION {function}")
        left = connection.exec_driver_sql(_OBJECTS).scalar_one()
    if left:
        print(f"warning: {left} objects are left in {safe_url(engine)}")


def describe(engine: Engine) -> str:
    """The server's version and the settings that matter here, as this engine's connections see them."""
    with engine.connect() as connection:
        server = connection.exec_driver_sql("SHOW server_version").scalar_one()
        values = [f"{name}={connection.exec_driver_sql(f'SHOW {name}').scalar_one()}" for name in SETTINGS]
    return f"PostgreSQL {server} (psycopg {version('psycopg')}); " + ", ".join(values)


def database_size(engine: Engine) -> str:
    with engine.connect() as connection:
        return connection.exec_driver_sql("SELECT pg_size_pretty(pg_database_size(current_database()))").scalar_one()


def safe_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
