"""Databases for the benchmarks: a fresh PostgreSQL database per run, Django set up on it.

`database()` creates ``labstudy_bench_<tag>_<pid>`` on the PostgreSQL server (the one in
DATABASE_URL when that is PostgreSQL, else 127.0.0.1:5432 as user postgres), yields its
URL and drops it afterwards. Given a URL (``--database-url``, e.g. a copy of a migrated
template that the smoke test made), it uses that database as it is and leaves it to its
owner. `setup_django()` points this process at the database and migrates it when needed.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"


def server_url() -> str:
    """The PostgreSQL server to create benchmark databases on (no database name)."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(url)
        return urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    return DEFAULT_SERVER


def _admin(server: str):
    import psycopg

    return psycopg.connect(f"{server}/postgres", autocommit=True)


def create_database(name: str, *, template: str | None = None) -> str:
    server = server_url()
    with _admin(server) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        suffix = f' TEMPLATE "{template}"' if template else ""
        conn.execute(f'CREATE DATABASE "{name}"{suffix}')
    return f"{server}/{name}"


def drop_database(name: str) -> None:
    with _admin(server_url()) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database(url: str | None, tag: str) -> Iterator[str]:
    """A database for one benchmark run: `url` as given, or a fresh PostgreSQL database."""
    if url:
        yield url
        return
    name = f"labstudy_bench_{tag}_{os.getpid()}"
    fresh = create_database(name)
    try:
        yield fresh
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django never set up
            pass
        drop_database(name)


def setup_django(url: str, *, migrate: bool = True) -> None:
    """Django settings for this process on `url` (DEBUG off, as in production)."""
    os.environ["DATABASE_URL"] = url
    # The product's settings plus the baseline page of bench_tap (bench/settings.py).
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["LABSTUDY_ENV"] = "development"  # in-process reads only; the server is separate
    os.environ["LABSTUDY_DEBUG"] = "0"
    import django

    # WhiteNoise warns that STATIC_ROOT does not exist; in-process runs serve no files.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    django.setup()
    if migrate:
        migrate_if_needed()


def migrate_if_needed() -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        print("migrating the benchmark database ...", flush=True)
        call_command("migrate", verbosity=0, interactive=False)


def label() -> str:
    """The database this process uses, as the results table names it."""
    from django.db import connection

    if connection.vendor == "postgresql":
        version = connection.pg_version  # e.g. 150020
        return f"PostgreSQL {version // 10000}.{version % 10000}"
    if connection.vendor == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    return connection.vendor


def is_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def add_database_options(parser) -> None:
    parser.add_argument(
        "--database-url",
        help="use this (possibly not yet migrated) database as it is instead of creating "
        "a fresh PostgreSQL one; it is not dropped afterwards",
    )
