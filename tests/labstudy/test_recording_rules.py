"""May this still be recorded? One answer for every writer of recorded data.

A locked or archived study refuses a tap, a new session, a weight, a dose, an
observation, a status change and an import with the same sentence, and writes nothing; a
signed-off
timepoint refuses a new session and a tap in an existing one with the same sentence. The
sentences are Study.recording_refusal and Timepoint.recording_refusal.
"""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from analysis import thresholds
from animals import services as animal_services
from animals.models import Animal, BodyWeight, DoseAdministration, Observation
from labstudy.models import Study
from sessions import services as session_services
from sessions.importing import import_study_csv
from sessions.models import Stimulus, TestSession
from tests.worlds import make_bench_study


@pytest.fixture
def bench(study):
    world = make_bench_study(study)  # running, today is T3 (day 28)
    world.session = session_services.start_session(
        animal=world.animals["R01"], timepoint=world.tp, paw="right", user=None
    )
    return world


def _r03_series_at_t3() -> bytes:
    """A stimuli CSV: R03 tested at T3 (day 28), the series the bench guides to for a rat
    that withdraws from 15 g up."""
    grams = {f.size: f.grams for f in thresholds.STOELTING_20}
    series: list[tuple[str, bool]] = []
    while size := thresholds.next_filament(series, method="first_response", start="4.31"):
        series.append((size, grams[size] >= 15))
    lines = ["animal,group,timepoint,day,paw,order,filament_size,response"] + [
        f"R03,K10,T3,28,right,{order},{size},{int(withdrew)}"
        for order, (size, withdrew) in enumerate(series, start=1)
    ]
    return ("\n".join(lines) + "\n").encode()


def _imported(study, user) -> None:
    result = import_study_csv(
        data=_r03_series_at_t3(), source_name="r03.csv", slug=study.slug, user=user
    )
    if not result.ok:
        raise ValidationError([str(problem) for problem in result.errors])


def _writers(bench, user):
    """Each way recorded data is written, as the bench pages call it."""
    today = bench.today

    def animal(code):
        return Animal.objects.select_related("study", "group").get(code=code)

    def session():
        return TestSession.objects.select_related("animal__study", "timepoint").get(
            pk=bench.session.pk
        )

    return {
        "tap": lambda: session_services.record_stimulus(
            session=session(), filament_size="4.31", withdrew=False, user=user
        ),
        "new session": lambda: session_services.start_session(
            animal=animal("R02"), timepoint=bench.tp, paw="right", user=user
        ),
        "weight": lambda: animal_services.record_weight(
            animal=animal("R02"), grams=Decimal("301.0"), date=today, user=user
        ),
        "dose": lambda: animal_services.record_dose(
            animal=animal("R02"), date=today, status="given", user=user
        ),
        "observation": lambda: animal_services.record_observations(
            animal=animal("R02"),
            date=today,
            terms=["sedation"],
            notes="",
            severity="",
            user=user,
        ),
        "status change": lambda: animal_services.change_animal_status(
            animal=animal("R02"), status="excluded", date=today, reason="wrong model", user=user
        ),
        "import": lambda: _imported(bench.study, user),
    }


def _recorded() -> tuple[int, ...]:
    return (
        Stimulus.objects.count(),
        TestSession.objects.count(),
        BodyWeight.objects.count(),
        DoseAdministration.objects.count(),
        Observation.objects.count(),
        Animal.objects.exclude(status=Animal.Status.ACTIVE).count(),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Study.Status.LOCKED, Study.Status.ARCHIVED])
def test_a_closed_study_refuses_every_writer_with_one_sentence(bench, people, status):
    Study.objects.filter(pk=bench.study.pk).update(status=status)
    before = _recorded()
    sentence = f"The study is {status.label.lower()}: nothing can be recorded."
    for what, write in _writers(bench, people["technician"]).items():
        with pytest.raises(ValidationError) as refused:
            write()
        assert any(sentence in message for message in refused.value.messages), what
    assert _recorded() == before


@pytest.mark.django_db
def test_a_signed_off_timepoint_refuses_a_tap_and_a_new_session_with_one_sentence(bench, people):
    bench.tp.locked_at = timezone.now()
    bench.tp.save()
    before = _recorded()
    sentence = "Timepoint T3 has been signed off; its sessions are read-only."
    writers = _writers(bench, people["technician"])
    for what in ("tap", "new session"):
        with pytest.raises(session_services.TapConflict) as refused:
            writers[what]()
        assert refused.value.message == sentence, what
        assert refused.value.code == "locked", what
    assert _recorded() == before


@pytest.mark.django_db
def test_a_running_study_records_with_every_writer(bench, people):
    """The refusals above come from the lock and the sign-off, not from the world."""
    before = _recorded()
    for write in _writers(bench, people["technician"]).values():
        write()
    taps, sessions, *others = (after - was for was, after in zip(before, _recorded(), strict=True))
    assert taps > 1 and sessions == 2 and others == [1, 1, 1, 1]
