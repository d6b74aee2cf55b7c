"""Write a consistent copy of the database.

SQLite: the sqlite3 online backup API copies the live database page by page, so the
copy is consistent even while the app is writing. PostgreSQL: pg_dump is the right
tool; this command prints the exact command to run.
"""

import datetime as dt
import sqlite3
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection


class Command(BaseCommand):
    help = "Back up the database (SQLite: consistent copy; PostgreSQL: how to use pg_dump)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--out",
            help="File to write (default: backups/labstudy-<timestamp>.sqlite3 in the project).",
        )

    def handle(self, *args, **options) -> None:
        db = settings.DATABASES["default"]
        if connection.vendor == "postgresql":
            self._postgres(db)
            return
        if connection.vendor != "sqlite":
            raise CommandError(f"Backups of {connection.vendor} databases are not supported.")
        source = Path(db["NAME"])
        if not source.exists():
            raise CommandError(f"No SQLite database at {source}.")
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = Path(options["out"] or settings.BASE_DIR / "backups" / f"labstudy-{stamp}.sqlite3")
        if out.exists():
            raise CommandError(f"{out} already exists; choose another --out.")
        out.parent.mkdir(parents=True, exist_ok=True)
        src = sqlite3.connect(source)
        dst = sqlite3.connect(out)
        try:
            with dst:
                src.backup(dst)
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            dst.close()
            src.close()
        if check != "ok":
            raise CommandError(f"The copy failed its integrity check: {check}")
        self.stdout.write(f"Backed up {source} to {out} ({out.stat().st_size:,} bytes).")
        self.stdout.write(
            "To restore: stop the server, copy the backup over the database file "
            f"(cp {out} {source}), start the server."
        )

    def _postgres(self, db: dict) -> None:
        host = db.get("HOST") or "localhost"
        port = db.get("PORT") or 5432
        user = db.get("USER") or "postgres"
        name = db["NAME"]
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.stdout.write(
            "This database is PostgreSQL: back it up with pg_dump (consistent while the app "
            "runs):\n"
            f"  pg_dump -h {host} -p {port} -U {user} -Fc -f labstudy-{stamp}.dump {name}\n"
            "Restore into an empty database with:\n"
            f"  createdb -h {host} -p {port} -U {user} {name}_restored\n"
            f"  pg_restore -h {host} -p {port} -U {user} -d {name}_restored "
            f"labstudy-{stamp}.dump"
        )
