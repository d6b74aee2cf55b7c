"""The row lock that orders sign-off against recording at one timepoint.

Study core: it locks a Timepoint row and imports no recording app, so the core's sign-off
(labstudy.services) and the bench's taps (sessions.services) share one lock protocol.
"""

from labstudy.models import Timepoint


def lock_timepoint(timepoint_pk: int) -> Timepoint:
    """The timepoint row, locked exclusively until the transaction ends.

    Sign-off, reopening, starting a session and imports take this lock; taps, undos and
    session voids take a share lock on the same row (session_state), so a sign-off waits
    for the taps in flight and every later tap sees `locked_at`: nothing lands after it.
    Call it inside a transaction and check `locked_at` on what it returns, not on a
    copy read before.
    """
    return Timepoint.objects.select_for_update(no_key=True).get(pk=timepoint_pk)
