"""Doses are voided as weights and observations are: `voided` and `void_reason`, with
`status` keeping what was marked before the void (scheduled, given, missed, refused).

Every dose stored with status "voided" becomes voided=True with its reason as the void
reason; its status and reason go back to the last ones its history held before the void
("scheduled" and no reason when the history holds none). Its historical rows are rewritten
the same way, so the audit trail and "already voided on ... by ..." read the void from
the `voided` field. Runs before 0009 drops "voided" from the status choices.
"""

from django.db import migrations, models

OLD_VOIDED = "voided"


def _restated(rows, *, before: tuple[str, str]) -> list:
    """`rows` (one dose's history, oldest first) with every voided row restated: voided,
    void reason = its reason, status and reason those of the last live row before it."""
    status, reason = before
    changed = []
    for row in rows:
        if row.status != OLD_VOIDED:
            status, reason = row.status, row.reason
            continue
        row.voided, row.void_reason = True, row.reason
        row.status, row.reason = status, reason
        changed.append(row)
    return changed


def forwards(apps, schema_editor):
    dose_model = apps.get_model("animals", "DoseAdministration")
    history_model = apps.get_model("animals", "HistoricalDoseAdministration")
    ids = set(dose_model.objects.filter(status=OLD_VOIDED).values_list("pk", flat=True))
    ids |= set(history_model.objects.filter(status=OLD_VOIDED).values_list("id", flat=True))
    for dose_id in sorted(ids):
        past = list(history_model.objects.filter(id=dose_id).order_by("history_date", "history_id"))
        changed = _restated(past, before=("scheduled", ""))
        if changed:
            history_model.objects.bulk_update(
                changed, ["voided", "void_reason", "status", "reason"]
            )
        dose = dose_model.objects.filter(pk=dose_id, status=OLD_VOIDED).first()
        if dose is None:
            continue
        live = [row for row in past if not row.voided]
        before = (live[-1].status, live[-1].reason) if live else ("scheduled", "")
        dose.voided, dose.void_reason = True, dose.reason
        dose.status, dose.reason = before
        dose.save(update_fields=["voided", "void_reason", "status", "reason"])


def backwards(apps, schema_editor):
    for name in ("DoseAdministration", "HistoricalDoseAdministration"):
        model = apps.get_model("animals", name)
        model.objects.filter(voided=True).update(
            status=OLD_VOIDED, reason=models.F("void_reason"), voided=False, void_reason=""
        )


class Migration(migrations.Migration):
    dependencies = [
        ("animals", "0007_merge_20261203_1342"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="doseadministration",
            name="one_live_dose_per_animal_and_day",
        ),
        migrations.AddField(
            model_name="doseadministration",
            name="voided",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="doseadministration",
            name="void_reason",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name="historicaldoseadministration",
            name="voided",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="historicaldoseadministration",
            name="void_reason",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
