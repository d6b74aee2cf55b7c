"""The dose status choices lose "voided" (0008 moved every void to the `voided` field)
and the one-live-dose rule reads `voided`. A migration of its own, so the schema change
runs after 0008's data change has committed (PostgreSQL refuses to alter a table with
pending trigger events in the same transaction)."""

from django.db import migrations, models

STATUS = models.CharField(
    choices=[
        ("scheduled", "Scheduled"),
        ("given", "Given"),
        ("missed", "Missed"),
        ("refused", "Refused"),
    ],
    default="scheduled",
    max_length=10,
)
REASON = models.CharField(blank=True, help_text="Why a dose was missed or refused.", max_length=300)


class Migration(migrations.Migration):
    dependencies = [
        ("animals", "0008_h6_dose_void_fields"),
    ]

    operations = [
        migrations.AlterField(model_name="doseadministration", name="status", field=STATUS),
        migrations.AlterField(
            model_name="historicaldoseadministration", name="status", field=STATUS
        ),
        migrations.AlterField(model_name="doseadministration", name="reason", field=REASON),
        migrations.AlterField(
            model_name="historicaldoseadministration", name="reason", field=REASON
        ),
        migrations.AddConstraint(
            model_name="doseadministration",
            constraint=models.UniqueConstraint(
                condition=models.Q(("voided", False)),
                fields=("animal", "scheduled_date"),
                name="one_live_dose_per_animal_and_day",
            ),
        ),
    ]
