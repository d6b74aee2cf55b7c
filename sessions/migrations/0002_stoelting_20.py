"""Create the Stoelting 20-filament set (evaluator size -> grams).

The values are copied here rather than imported so the migration stays frozen;
tests/sessions/test_models.py checks they equal analysis.thresholds.STOELTING_20.
"""

from django.db import migrations

STOELTING_20 = [
    ("1.65", 0.008),
    ("2.36", 0.02),
    ("2.44", 0.04),
    ("2.83", 0.07),
    ("3.22", 0.16),
    ("3.61", 0.4),
    ("3.84", 0.6),
    ("4.08", 1.0),
    ("4.17", 1.4),
    ("4.31", 2.0),
    ("4.56", 4.0),
    ("4.74", 6.0),
    ("4.93", 8.0),
    ("5.07", 10.0),
    ("5.18", 15.0),
    ("5.46", 26.0),
    ("5.88", 60.0),
    ("6.10", 100.0),
    ("6.45", 180.0),
    ("6.65", 300.0),
]


def create_set(apps, schema_editor):
    FilamentSet = apps.get_model("vf_sessions", "FilamentSet")
    Filament = apps.get_model("vf_sessions", "Filament")
    fset, _ = FilamentSet.objects.get_or_create(
        slug="stoelting-20",
        defaults={"name": "Stoelting 20-filament von Frey set", "manufacturer": "Stoelting"},
    )
    for order, (size, grams) in enumerate(STOELTING_20, start=1):
        Filament.objects.update_or_create(
            filament_set=fset, size=size, defaults={"grams": grams, "order": order}
        )


def remove_set(apps, schema_editor):
    apps.get_model("vf_sessions", "FilamentSet").objects.filter(slug="stoelting-20").delete()


class Migration(migrations.Migration):
    dependencies = [("vf_sessions", "0001_initial")]

    operations = [migrations.RunPython(create_set, remove_set)]
