"""Admin for filament sets, sessions, stimuli and imported thresholds.

Sessions, stimuli and imported thresholds are view-only here: the app voids with a
reason and respects signed-off timepoints. A filament set in use is read-only.
"""

from django.contrib import admin

from animals.admin import ViewOnlyAdmin
from sessions.models import Filament, FilamentSet, LegacyThreshold, Stimulus, TestSession


def _set_in_use(filament_set: FilamentSet | None) -> bool:
    """A set some study uses: its filaments' sizes and forces are part of recorded data."""
    return filament_set is not None and filament_set.studies.exists()


class FilamentInline(admin.TabularInline):
    model = Filament
    extra = 0

    def has_change_permission(self, request, obj=None) -> bool:
        return not _set_in_use(obj) and super().has_change_permission(request, obj)

    def has_add_permission(self, request, obj=None) -> bool:
        return not _set_in_use(obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return not _set_in_use(obj) and super().has_delete_permission(request, obj)


@admin.register(FilamentSet)
class FilamentSetAdmin(admin.ModelAdmin):
    """A set in use is read-only: editing a filament would silently change every stored
    stimulus that points to it (and every threshold computed from them)."""

    list_display = ("name", "slug", "manufacturer")
    inlines = [FilamentInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        return not _set_in_use(obj) and super().has_delete_permission(request, obj)


@admin.register(Filament)
class FilamentAdmin(admin.ModelAdmin):
    list_display = ("size", "grams", "order", "filament_set")
    list_filter = ("filament_set",)

    def has_change_permission(self, request, obj=None) -> bool:
        in_use = obj is not None and _set_in_use(obj.filament_set)
        return not in_use and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        in_use = obj is not None and _set_in_use(obj.filament_set)
        return not in_use and super().has_delete_permission(request, obj)


class StimulusInline(admin.TabularInline):
    model = Stimulus
    extra = 0
    fields = (
        "order",
        "filament",
        "withdrew",
        "recorded_at",
        "recorded_by",
        "is_override",
        "voided",
        "void_reason",
    )
    readonly_fields = ("recorded_at", "recorded_by")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TestSession)
class TestSessionAdmin(ViewOnlyAdmin):
    list_display = ("animal", "timepoint", "paw", "method", "status", "tested_at", "tester")
    list_filter = ("animal__study", "status", "method", "paw", "timepoint__label")
    search_fields = ("animal__code", "notes")
    list_select_related = ("animal", "timepoint", "tester")
    inlines = [StimulusInline]


@admin.register(Stimulus)
class StimulusAdmin(ViewOnlyAdmin):
    list_display = (
        "session",
        "order",
        "filament",
        "withdrew",
        "recorded_at",
        "recorded_by",
        "is_override",
        "voided",
    )
    list_filter = ("session__animal__study", "withdrew", "voided", "is_override")
    search_fields = ("session__animal__code", "client_uuid")
    list_select_related = ("session__animal", "session__timepoint", "filament", "recorded_by")


admin.site.site_header = "labstudy administration"
admin.site.site_title = "labstudy admin"


@admin.register(LegacyThreshold)
class LegacyThresholdAdmin(ViewOnlyAdmin):
    list_display = (
        "animal",
        "timepoint",
        "paw",
        "threshold_g",
        "status",
        "source_file",
        "source_line",
    )
    list_filter = ("animal__study", "status", "timepoint__label")
    search_fields = ("animal__code", "source_file")
    list_select_related = ("animal", "timepoint")
