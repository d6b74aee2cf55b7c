"""Admin for animals and their records.

Recorded data cannot be deleted here (void it in the app). Once its study has left
planning a record is read-only here (labstudy.admin.InspectAfterPlanning), and so is a
voided record; a void is never set or undone here. While the study is in planning a
change asks for a reason, kept in the record's history with the user's name.
"""

from django import forms
from django.contrib import admin
from django.db import models

from animals.models import (
    Allocation,
    AllocationEntry,
    Animal,
    BodyWeight,
    DoseAdministration,
    Observation,
    Surgery,
)
from labstudy.admin import LEFT_PLANNING_RECORDS, KeptHistoryAdmin
from labstudy.validators import ADMIN_DECIMALS


class ReasonForm(forms.ModelForm):
    change_reason = forms.CharField(
        label="Reason for this change",
        max_length=300,
        help_text="Kept in the audit trail with your name and the time.",
    )


VOID_FIELDS = ("voided", "void_reason", "voided_at", "voided_by")


class RecordAdmin(KeptHistoryAdmin):
    """Recorded data: never deleted; read-only once the study has left planning or the
    record is voided (the base class); in planning a change needs a reason and the void
    fields stay as the app set them."""

    form = ReasonForm
    formfield_overrides = {models.DecimalField: ADMIN_DECIMALS}
    left_planning_message = LEFT_PLANNING_RECORDS

    def get_readonly_fields(self, request, obj=None):
        names = {f.name for f in self.model._meta.get_fields()}
        void = tuple(f for f in VOID_FIELDS if f in names)
        return tuple(super().get_readonly_fields(request, obj)) + void

    def save_model(self, request, obj, form, change):
        obj._change_reason = form.cleaned_data["change_reason"].strip()
        obj._history_user = request.user
        super().save_model(request, obj, form, change)


class ViewOnlyAdmin(KeptHistoryAdmin):
    """Records the app itself keeps consistent (taps, sessions, allocations, imports):
    shown here for inspection; corrections go through the app, which voids with a
    reason and respects signed-off timepoints."""

    left_planning_message = LEFT_PLANNING_RECORDS

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Animal)
class AnimalAdmin(RecordAdmin):
    list_display = ("code", "study", "cage", "sex", "group", "status", "status_date")
    list_filter = ("study", "status", "sex", "group")
    search_fields = ("code", "cage", "notes")
    list_select_related = ("study", "group")


@admin.register(Surgery)
class SurgeryAdmin(RecordAdmin):
    list_display = ("animal", "date", "procedure", "side", "surgeon")
    list_filter = ("procedure", "side", "animal__study")
    search_fields = ("animal__code", "surgeon")
    list_select_related = ("animal",)


@admin.register(BodyWeight)
class BodyWeightAdmin(RecordAdmin):
    list_display = ("animal", "date", "grams", "voided", "created_by")
    list_filter = ("animal__study", "voided", "date")
    search_fields = ("animal__code",)
    list_select_related = ("animal", "created_by")
    date_hierarchy = "date"


@admin.register(DoseAdministration)
class DoseAdministrationAdmin(RecordAdmin):
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
        "voided",
    )
    list_filter = ("animal__study", "status", "voided", "route", "scheduled_date")
    search_fields = ("animal__code", "reason")
    list_select_related = ("animal", "given_by")
    date_hierarchy = "scheduled_date"


@admin.register(Observation)
class ObservationAdmin(RecordAdmin):
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
class AllocationAdmin(ViewOnlyAdmin):
    list_display = ("study", "method", "seed", "block_size", "created_at", "created_by")
    list_filter = ("study", "method")
    readonly_fields = ("group_codes", "animal_codes", "baselines_g")
    inlines = [AllocationEntryInline]
