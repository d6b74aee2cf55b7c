"""labstudy.voiding.void_record, the one void: a blank or over-long reason is refused
before anything is locked or written, the history keeps the reason and who, and a dose
voided keeps the status it was marked with."""

import pytest
from django.core.exceptions import ValidationError

from animals import services
from labstudy.voiding import VOID_REASON_MAX_CHARS
from tests.worlds import make_bench_study


@pytest.fixture
def bench(study):
    return make_bench_study(study)


@pytest.mark.django_db
def test_a_void_needs_a_reason_that_fits(bench, people):
    tess = people["technician"]
    dose = services.record_dose(
        animal=bench.animals["R04"], date=bench.today, status="refused", reason="bit", user=tess
    )
    with pytest.raises(ValidationError) as err:
        services.void_dose(dose=dose, user=tess, reason="   ")
    assert err.value.message_dict == {"reason": ["Give the reason the dose record is void."]}
    with pytest.raises(ValidationError) as err:
        services.void_dose(dose=dose, user=tess, reason="x" * (VOID_REASON_MAX_CHARS + 1))
    assert err.value.message_dict == {
        "reason": ["The reason is 301 characters; keep it to 300. Nothing was voided."]
    }
    dose.refresh_from_db()
    assert (dose.voided, dose.void_reason) == (False, "")


@pytest.mark.django_db
def test_a_voided_dose_keeps_what_was_marked_and_the_history_says_who_and_why(bench, people):
    tess, ivy = people["technician"], people["investigator"]
    dose = services.record_dose(
        animal=bench.animals["R04"], date=bench.today, status="refused", reason="bit", user=tess
    )
    services.void_dose(dose=dose, user=ivy, reason="  it was R03  ")
    dose.refresh_from_db()
    assert (dose.voided, dose.void_reason, dose.status, dose.reason) == (
        True, "it was R03", "refused", "bit",
    )  # fmt: skip
    assert dose.state == "voided"
    latest = dose.history.latest()
    assert (latest.voided, latest.history_user, latest.history_change_reason) == (
        True, ivy, "it was R03",
    )  # fmt: skip
    # The day's dose can be marked again; the voided one stays.
    again = services.record_dose(
        animal=bench.animals["R04"], date=bench.today, status="given", user=tess
    )
    assert again.pk != dose.pk and not again.voided
