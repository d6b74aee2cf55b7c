"""Admin for animals and their records. Recorded data cannot be deleted here: void it."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from animals.models import (
    Allocation,
    AllocationEntry,
    Animal,
    BodyWeight,
    DoseAdministration,
    Observation,
    Surgery,
)


class NoDeleteAdmin(SimpleHistoryAdmin):
    """Recorded observations are voided with a reason, never deleted."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Animal)
class AnimalAdmin(NoDeleteAdmin):
    list_display = ("code", "study", "cage", "sex", "group", "status", "status_date")
    list_filter = ("study", "status", "sex", "group")
    search_fields = ("code", "cage", "notes")
    list_select_related = ("study", "group")


@admin.register(Surgery)
class SurgeryAdmin(NoDeleteAdmin):
    list_display = ("animal", "date", "procedure", "side", "surgeon")
    list_filter = ("procedure", "side", "animal__study")
    search_fields = ("animal__code", "surgeon")
    list_select_related = ("animal",)


@admin.register(BodyWeight)
class BodyWeightAdmin(NoDeleteAdmin):
    list_display = ("animal", "date", "grams", "voided", "created_by")
    list_filter = ("animal__study", "voided", "date")
    search_fields = ("animal__code",)
    list_select_related = ("animal", "created_by")
    date_hierarchy = "date"


@admin.register(DoseAdministration)
class DoseAdministrationAdmin(NoDeleteAdmin):
    list_display = (
        "animal",
        "scheduled_date",
        "study_day",
        "dose_mg_kg",
        "volume_ml",
        "route",
        "status",
        "given_at",
        "given_by",
    )
    list_filter = ("animal__study", "status", "route", "scheduled_date")
    search_fields = ("animal__code", "reason")
    list_select_related = ("animal", "given_by")
    date_hierarchy = "scheduled_date"


@admin.register(Observation)
class ObservationAdmin(NoDeleteAdmin):
    list_display = ("animal", "date", "kind", "term", "severity", "voided")
    list_filter = ("animal__study", "kind", "severity", "voided")
    search_fields = ("animal__code", "term", "notes")
    list_select_related = ("animal",)


class AllocationEntryInline(admin.TabularInline):
    model = AllocationEntry
    extra = 0
    readonly_fields = ("animal", "group", "stratum", "baseline_g")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Allocation)
class AllocationAdmin(NoDeleteAdmin):
    list_display = ("study", "method", "seed", "block_size", "created_at", "created_by")
    list_filter = ("study", "method")
    readonly_fields = ("group_codes", "animal_codes", "baselines_g")
    inlines = [AllocationEntryInline]
