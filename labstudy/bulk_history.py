"""Insert many rows of any model with history, in one transaction, fast.

`insert_with_history(model, values, user=..., reason=...)` writes rows given as
{attname: value} plus one "+" django-simple-history record each (with the user and the
change reason), the same records `simple_history.utils.bulk_create_with_history` writes,
and returns the new primary keys in order. Either everything is written or, when the
database refuses a row, nothing (rows and history alike), and the error is Django's
(`django.db.IntegrityError`) on every database.

Model-agnostic study-core plumbing: it must import no app's models and hold no rule about
what is written; callers (the study import, sessions/importing/writing.py) check first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django.db import connection, models, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

BATCH_SIZE = 2000


def insert_with_history(
    model: type[models.Model],
    values: list[dict[str, Any]],
    *,
    user: AbstractBaseUser | None,
    reason: str,
) -> list[int]:
    """Insert rows given as {attname: value} (the model's defaults fill the rest) and one
    "+" history record each, as simple_history's bulk_create_with_history does; returns
    the new primary keys in order. Runs in one transaction (a savepoint inside the
    caller's): on any error nothing is written.

    bulk_create_with_history spends its time building model instances and SQL: for 100k
    stimuli nearly 30 s on PostgreSQL, and on SQLite about a minute for 50k, all of it
    holding SQLite's one write lock while technicians' taps wait. So the ids are reserved
    first (PostgreSQL: from the table's sequence; SQLite: above the table's highest id,
    safe because this transaction holds the write lock) and the rows go in with COPY
    (PostgreSQL) or one executemany (SQLite). Other databases: bulk_create_with_history.
    """
    with transaction.atomic():
        return _insert(model, values, user=user, reason=reason)


def _insert(
    model: type[models.Model],
    values: list[dict[str, Any]],
    *,
    user: AbstractBaseUser | None,
    reason: str,
) -> list[int]:
    if connection.vendor not in ("postgresql", "sqlite") or not values:
        objs = bulk_create_with_history(
            [model(**row) for row in values],
            model,
            batch_size=BATCH_SIZE,
            default_user=user,
            default_change_reason=reason,
        )
        return [obj.pk for obj in objs]
    meta = model._meta
    now = timezone.now()
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    fixed, per_row = {}, {}
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            fixed[f.attname] = now
        elif f.has_default() and callable(f.default):
            per_row[f.attname] = f.default
        else:
            fixed[f.attname] = f.get_default()
    with connection.cursor() as cursor:
        ids = _reserve_ids(cursor, meta, len(values))
        rows = []
        for pk, row in zip(ids, values, strict=True):
            full = [pk]
            for f in fields:
                name = f.attname
                if name in row:
                    full.append(row[name])
                elif name in per_row:
                    full.append(per_row[name]())
                else:
                    full.append(fixed[name])
            rows.append(full)
        names = [meta.pk.attname] + [f.attname for f in fields]
        _bulk_write(cursor, meta.db_table, [meta.pk, *fields], rows)
        history = model.history.model._meta
        stamp = {
            "history_date": now,
            "history_change_reason": reason,
            "history_type": "+",
            "history_user_id": user.pk if user is not None else None,
        }
        columns = [f for f in history.concrete_fields if f.attname != "history_id"]
        picks = [names.index(f.attname) if f.attname in names else None for f in columns]
        extra = [stamp.get(f.attname) for f in columns]
        history_rows = (
            [row[i] if i is not None else e for i, e in zip(picks, extra, strict=True)]
            for row in rows
        )
        _bulk_write(cursor, history.db_table, columns, history_rows)
    return ids


def _reserve_ids(cursor, meta, n: int) -> list[int]:
    if connection.vendor == "postgresql":
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, n],
        )
        return [pk for (pk,) in cursor.fetchall()]
    # SQLite, inside insert_with_history's transaction, which holds the database's write
    # lock (BEGIN IMMEDIATE, labstudy/settings.py): no one else can take these ids.
    # AUTOINCREMENT never reuses an id, even a deleted one, so start above both the
    # highest id and the table's sqlite_sequence entry.
    quote = connection.ops.quote_name
    cursor.execute(f"SELECT COALESCE(MAX({quote(meta.pk.column)}), 0) FROM {quote(meta.db_table)}")
    highest = cursor.fetchone()[0]
    cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [meta.db_table])
    seq = cursor.fetchone()
    start = max(highest, seq[0] if seq else 0) + 1
    return list(range(start, start + n))


def _bulk_write(cursor, table: str, fields: list, rows: Iterable[list]) -> None:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    if connection.vendor == "postgresql":
        # psycopg's own cursor: its errors become Django's, as the ORM's cursor does.
        with (
            connection.wrap_database_errors,
            cursor.cursor.copy(f"COPY {quote(table)} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    # SQLite: values as the ORM would store them (datetimes as text, UUIDs as hex); a
    # converter per column, since field.get_db_prep_save per value took most of the time.
    converters = [_sqlite_converter(f) for f in fields]
    prepared = (
        [v if c is None else c(v) for c, v in zip(converters, row, strict=True)] for row in rows
    )
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(table)} ({columns}) VALUES ({marks})"
    batch = []
    for row in prepared:
        batch.append(row)
        if len(batch) >= BATCH_SIZE:
            cursor.executemany(sql, batch)
            batch = []
    if batch:
        cursor.executemany(sql, batch)


def _sqlite_converter(field: models.Field) -> Callable[[Any], Any] | None:
    """How a value of `field` goes to SQLite as the ORM stores it; None: as it is (ints,
    text, booleans, floats and None need nothing)."""
    ops = connection.ops
    kind = field.get_internal_type()
    if kind == "DateTimeField":
        return lru_cache(maxsize=4096)(ops.adapt_datetimefield_value)  # one `now` per import
    if kind == "DateField":
        return ops.adapt_datefield_value
    if kind == "UUIDField":
        return lambda v: None if v is None else v.hex
    if kind in ("AutoField", "BigAutoField", "SmallAutoField", "ForeignKey", "OneToOneField"):
        return None
    if kind in ("IntegerField", "BigIntegerField", "SmallIntegerField", "BooleanField"):
        return None
    if kind in ("PositiveIntegerField", "PositiveSmallIntegerField", "PositiveBigIntegerField"):
        return None
    if kind in ("CharField", "TextField", "FloatField", "SlugField"):
        return None
    return lambda v: field.get_db_prep_save(v, connection)
