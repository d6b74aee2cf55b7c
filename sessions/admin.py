"""Admin for filament sets and sessions. Sessions and stimuli are voided, never deleted."""

from django.contrib import admin

from animals.admin import NoDeleteAdmin
from sessions.models import Filament, FilamentSet, LegacyThreshold, Stimulus, TestSession


class FilamentInline(admin.TabularInline):
    model = Filament
    extra = 0


@admin.register(FilamentSet)
class FilamentSetAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "manufacturer")
    inlines = [FilamentInline]


@admin.register(Filament)
class FilamentAdmin(admin.ModelAdmin):
    list_display = ("size", "grams", "order", "filament_set")
    list_filter = ("filament_set",)


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

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TestSession)
class TestSessionAdmin(NoDeleteAdmin):
    list_display = ("animal", "timepoint", "paw", "method", "status", "tested_at", "tester")
    list_filter = ("animal__study", "status", "method", "paw", "timepoint__label")
    search_fields = ("animal__code", "notes")
    list_select_related = ("animal", "timepoint", "tester")
    inlines = [StimulusInline]


@admin.register(Stimulus)
class StimulusAdmin(NoDeleteAdmin):
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
class LegacyThresholdAdmin(NoDeleteAdmin):
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
