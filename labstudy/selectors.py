"""Reads that feed the study pages."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q

from animals.models import Animal
from animals.selectors import dose_sheet
from labstudy.models import Study, Timepoint
from sessions.models import TestSession


@dataclass(frozen=True)
class DueToday:
    date: dt.date
    study_day: int
    timepoints: list[Timepoint]
    sessions_due: int
    sessions_done: int
    sessions_in_progress: int
    doses_due: int
    doses_done: int

    @property
    def sessions_left(self) -> int:
        return self.sessions_due - self.sessions_done

    @property
    def doses_left(self) -> int:
        return self.doses_due - self.doses_done

    @property
    def anything(self) -> bool:
        return bool(self.sessions_due or self.doses_due)


def paws_for(study: Study) -> list[str]:
    return ["right", "left"] if study.paw_tested == Study.Paw.BOTH else [study.paw_tested]


def due_today(study: Study, today: dt.date) -> DueToday:
    """What the bench has to do on `today`: sessions at today's timepoints and doses."""
    day = study.day_of_date(today)
    timepoints = list(study.timepoints.filter(day=day))
    active = Animal.objects.filter(study=study, status=Animal.Status.ACTIVE)
    n_active = active.count()
    sessions_due = n_active * len(timepoints) * len(paws_for(study))
    counts = TestSession.objects.filter(timepoint__in=timepoints, animal__in=active).aggregate(
        done=Count("pk", filter=Q(status=TestSession.Status.COMPLETE)),
        progress=Count("pk", filter=Q(status=TestSession.Status.IN_PROGRESS)),
    )
    # The bench's worksheet decides what is due (dosed phases x injected groups).
    doses = dose_sheet(study, today)
    return DueToday(
        date=today,
        study_day=day,
        timepoints=timepoints,
        sessions_due=sessions_due,
        sessions_done=counts["done"],
        sessions_in_progress=counts["progress"],
        doses_due=doses.due,
        doses_done=doses.done,
    )


def animals_with_groups(study: Study):
    return Animal.objects.filter(study=study).select_related("group").order_by("cage", "code")


def has_recorded_data(study: Study) -> bool:
    """Anything recorded at the bench (a filament applied, a dose, a weight or an
    observation, voided or not): past this point the study cannot go back to planning and
    its blinding can be lifted only by the audited unblinding."""
    from animals.models import BodyWeight, DoseAdministration, Observation
    from sessions.models import Stimulus

    return (
        Stimulus.objects.filter(session__animal__study=study).exists()
        or DoseAdministration.objects.filter(animal__study=study).exists()
        or BodyWeight.objects.filter(animal__study=study).exists()
        or Observation.objects.filter(animal__study=study).exists()
    )
