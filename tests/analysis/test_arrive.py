"""ARRIVE item 1 and 9 say what each group was given (issue 14): the reference study's
control rats were injected with saline i.p. (1 ml/kg), which is their treatment, not
"no treatment"."""

from analysis import arrive
from labstudy.models import TreatmentGroup


def _item(report, number):
    return next(item for item in report.items if item.number == number)


def test_control_group_lists_its_vehicle_injection(study):
    report = arrive.arrive_report(study)
    groups = _item(report, 1).tables[0]
    treatment = {row[0]: row[2] for row in groups.rows}
    assert treatment == {
        "control": "vehicle (saline) 1 ml/kg i.p.",
        "K5": "ketamine 5 mg/kg i.p.",
        "K10": "ketamine 10 mg/kg i.p.",
    }
    procedures = {f.label: f.text for f in _item(report, 9).recorded}
    assert procedures["Treatment, control"] == "vehicle (saline) 1 ml/kg i.p."
    assert procedures["Treatment, K10"] == "ketamine 10 mg/kg i.p., in saline, 10 mg/ml, 1 ml/kg"


def test_untreated_group_and_unrecorded_route_are_said_as_such(study):
    TreatmentGroup.objects.filter(study=study, code="control").update(volume_ml_kg=None)
    TreatmentGroup.objects.filter(study=study, code="K5").update(route="")
    report = arrive.arrive_report(study)
    treatment = {row[0]: row[2] for row in _item(report, 1).tables[0].rows}
    assert treatment["control"] == "no treatment"
    assert treatment["K5"] == "ketamine 5 mg/kg route not recorded"
    labels = {f.label for f in _item(report, 9).recorded}
    assert "Treatment, control" not in labels
