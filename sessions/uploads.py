"""Uploaded import files waiting to be confirmed: kept privately for at most an hour.

The web import is two steps (sessions.importing does the work): the upload is checked
without writing and stored here under a random token; confirming reads exactly that file
back. A file nobody confirms is personal lab data lying in a temporary folder, so it is
removed once it is older than MAX_AGE: by every new upload (`purge`), by confirming it too
late (`read` refuses it and removes it), and by `manage.py purge_uploads` from cron for
servers where nobody uploads for a while.

Must not: import anything, or keep a file past MAX_AGE once any of the above has run.
"""

import contextlib
import datetime as dt
import secrets
import time
from pathlib import Path

from django.conf import settings

MAX_AGE = dt.timedelta(hours=1)


class UploadExpired(Exception):
    """The upload is older than MAX_AGE, or already gone."""


def _folder() -> Path:
    return Path(settings.LABSTUDY_UPLOAD_DIR)


def _path(token: str) -> Path:
    if not token or not all(c.isalnum() or c in "-_" for c in token):
        raise UploadExpired(token)
    return _folder() / f"{token}.csv"


def _too_old(path: Path, now: float) -> bool:
    return path.stat().st_mtime < now - MAX_AGE.total_seconds()


def purge(*, now: float | None = None) -> int:
    """Remove every stored upload older than MAX_AGE; how many were removed."""
    now = time.time() if now is None else now
    removed = 0
    for path in _folder().glob("*.csv"):
        try:
            if _too_old(path, now):
                path.unlink()
                removed += 1
        except OSError:  # removed meanwhile by another worker
            pass
    return removed


def store(data: bytes) -> str:
    """Keep `data` until it is confirmed or expires; the token that reads it back."""
    folder = _folder()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    purge()
    token = secrets.token_urlsafe(24)
    (folder / f"{token}.csv").write_bytes(data)
    return token


def read(token: str) -> bytes:
    """The stored upload, or UploadExpired when it is too old (then removed) or gone."""
    path = _path(token)
    try:
        if _too_old(path, time.time()):
            path.unlink(missing_ok=True)
            raise UploadExpired(token)
        return path.read_bytes()
    except OSError as error:
        raise UploadExpired(token) from error


def discard(token: str) -> None:
    """Forget an upload that was imported or can no longer be confirmed."""
    with contextlib.suppress(UploadExpired):
        _path(token).unlink(missing_ok=True)
