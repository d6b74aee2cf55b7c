"""The audit trail of one animal (with everything recorded about it) or one session, for
the history pages: labstudy.audit's rows over the histories of the animals and sessions apps.

Reads only.
"""

from __future__ import annotations

from animals.models import BodyWeight, DoseAdministration, Observation, Surgery
from labstudy.audit import AuditRow, merged, rows_for
from sessions.models import Stimulus, TestSession


def animal_trail(animal) -> list[AuditRow]:
    """The animal and everything recorded about it, newest first."""
    code = animal.code
    sessions = {
        s.pk: s for s in TestSession.objects.filter(animal=animal).select_related("timepoint")
    }

    def session_name(session_id) -> str:
        session = sessions.get(session_id)
        return f"{code} {session.timepoint.label} {session.paw}" if session else f"{code} session"

    return merged(
        rows_for(animal.history.all(), lambda r: f"animal {code}"),
        rows_for(Surgery.history.filter(animal_id=animal.pk), lambda r: f"{code} surgery {r.date}"),
        rows_for(
            BodyWeight.history.filter(animal_id=animal.pk), lambda r: f"{code} weight {r.date}"
        ),
        rows_for(
            DoseAdministration.history.filter(animal_id=animal.pk),
            lambda r: f"{code} dose day {r.study_day}",
        ),
        rows_for(
            Observation.history.filter(animal_id=animal.pk),
            lambda r: f"{code} observation {r.date}",
        ),
        rows_for(
            TestSession.history.filter(animal_id=animal.pk),
            lambda r: f"session {session_name(r.id)}",
        ),
        rows_for(
            Stimulus.history.filter(session_id__in=list(sessions)),
            lambda r: f"{session_name(r.session_id)} stimulus #{r.order}",
        ),
    )


def session_trail(session) -> list[AuditRow]:
    name = f"{session.animal.code} {session.timepoint.label} {session.paw}"
    return merged(
        rows_for(session.history.all(), lambda r: f"session {name}"),
        rows_for(
            Stimulus.history.filter(session_id=session.pk), lambda r: f"{name} stimulus #{r.order}"
        ),
    )
