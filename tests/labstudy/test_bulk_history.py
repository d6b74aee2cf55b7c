"""labstudy.bulk_history.insert_with_history: many rows of any model, each with its one
"+" history record (user, reason), all in one transaction or none at all.

Checked on TreatmentGroup, a model with history, defaults, a decimal, timestamps and a
unique constraint; the study import uses the same function for sessions, stimuli and
legacy thresholds (tests/sessions/test_import.py).
"""

from decimal import Decimal

import pytest
from django.db import IntegrityError

from labstudy.bulk_history import insert_with_history
from labstudy.models import TreatmentGroup

REASON = "imported from groups.csv"


def _group(study, code: str, **values) -> dict:
    return {"study_id": study.pk, "code": code, "name": f"{code} group", **values}


def test_rows_and_one_history_record_each_with_user_and_reason(study, people):
    user = people["data_manager"]
    before = set(TreatmentGroup.objects.values_list("pk", flat=True))

    ids = insert_with_history(
        TreatmentGroup,
        [_group(study, "K20", dose_mg_kg=Decimal("20.5"), order=4), _group(study, "K40")],
        user=user,
        reason=REASON,
    )

    assert len(ids) == 2 and not set(ids) & before
    k20, k40 = (TreatmentGroup.objects.get(pk=pk) for pk in ids)
    assert (k20.code, k20.study, k20.dose_mg_kg, k20.order) == ("K20", study, Decimal("20.5"), 4)
    # What the row did not give comes from the model's defaults, as a save would.
    assert (k40.route, k40.vehicle, k40.colour, k40.dose_mg_kg) == (
        "i.p.",
        "saline",
        "#1f77b4",
        None,
    )
    assert k40.created_at is not None and k40.updated_at == k40.created_at
    history = TreatmentGroup.history.filter(id__in=ids).order_by("id")
    assert [(h.id, h.code, h.history_type) for h in history] == [
        (ids[0], "K20", "+"),
        (ids[1], "K40", "+"),
    ]
    assert {(h.history_user, h.history_change_reason) for h in history} == {(user, REASON)}
    assert history[0].dose_mg_kg == Decimal("20.5")


def test_without_a_user_the_history_names_none(study):
    (pk,) = insert_with_history(TreatmentGroup, [_group(study, "K20")], user=None, reason=REASON)
    record = TreatmentGroup.history.get(id=pk)
    assert record.history_user is None and record.history_change_reason == REASON


def test_nothing_is_written_when_the_database_refuses_one_row(study, people):
    groups_before = TreatmentGroup.objects.count()
    history_before = TreatmentGroup.history.count()
    rows = [_group(study, "K20"), _group(study, "K40"), _group(study, "control")]

    # The third row's code is already a group of this study (unique per study): the two
    # rows before it, written first, go too.
    with pytest.raises(IntegrityError):
        insert_with_history(TreatmentGroup, rows, user=people["data_manager"], reason=REASON)

    assert TreatmentGroup.objects.count() == groups_before
    assert not TreatmentGroup.objects.filter(code__in=["K20", "K40"]).exists()
    assert TreatmentGroup.history.count() == history_before


def test_no_rows_write_nothing(study, people):
    history_before = TreatmentGroup.history.count()
    assert insert_with_history(TreatmentGroup, [], user=people["data_manager"], reason="") == []
    assert TreatmentGroup.history.count() == history_before
