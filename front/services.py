"""Writes that gather several apps, for the pages in front/: saving the study settings,
which moves the doses' study days (animals) when Day 0 moves (the study core).

Must not: hold a rule of its own; each part is the owning app's service.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from animals.services import restate_dose_days
from labstudy.models import METHOD_SETTING_FIELDS, Study


@transaction.atomic
def save_study_settings(
    *, study: Study, user: AbstractBaseUser | None, reason: str, day0_moved: bool = False
) -> Study:
    """Save the study's settings (validated by the caller's form) with `reason` in its
    history (a change of comparison family, or of the threshold method or its settings,
    once data exist is refused without one; a change between the up-down and the
    ascending families once filaments are recorded is refused);
    when Day 0 moved, every dose keeps its calendar date and takes that date's
    study day (animals.services.restate_dose_days), in the same transaction."""
    refusal = study.comparison_change_refusal(
        family=study.comparison_family, basis=study.comparison_basis, reason=reason
    ) or study.method_change_refusal(
        method=study.threshold_method,
        reason=reason,
        params={name: getattr(study, name) for name in METHOD_SETTING_FIELDS},
    )
    if refusal:
        raise ValidationError({"change_reason": refusal})
    study._change_reason = reason or None
    study._history_user = user
    study.save()
    if day0_moved:
        restate_dose_days(study=study, user=user, reason=reason)
    return study
