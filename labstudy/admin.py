from django.contrib import admin
from django.db import models
from simple_history.admin import SimpleHistoryAdmin

from labstudy.models import Membership, Phase, Study, Timepoint, TreatmentGroup
from labstudy.validators import ADMIN_DECIMALS


class GroupInline(admin.TabularInline):
    model = TreatmentGroup
    formfield_overrides = {models.DecimalField: ADMIN_DECIMALS}
    extra = 0


class PhaseInline(admin.TabularInline):
    model = Phase
    extra = 0


class TimepointInline(admin.TabularInline):
    model = Timepoint
    extra = 0


@admin.register(Study)
class StudyAdmin(SimpleHistoryAdmin):
    formfield_overrides = {models.DecimalField: ADMIN_DECIMALS}
    list_display = (
        "slug",
        "title",
        "model",
        "threshold_method",
        "cutoff_g",
        "status",
        "blinded",
        "day0_date",
    )
    list_filter = ("status", "model", "threshold_method", "blinded", "species")
    search_fields = ("slug", "title", "ethics_reference")
    prepopulated_fields = {"slug": ("title",)}
    inlines = [GroupInline, PhaseInline, TimepointInline]


@admin.register(TreatmentGroup)
class TreatmentGroupAdmin(SimpleHistoryAdmin):
    formfield_overrides = {models.DecimalField: ADMIN_DECIMALS}
    list_display = (
        "code",
        "name",
        "study",
        "drug",
        "dose_mg_kg",
        "route",
        "is_control",
        "coded_letter",
    )
    list_filter = ("study", "route", "is_control")
    search_fields = ("code", "name", "drug")


@admin.register(Phase)
class PhaseAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "study", "first_day", "last_day", "dosed")
    list_filter = ("study", "dosed")


@admin.register(Timepoint)
class TimepointAdmin(SimpleHistoryAdmin):
    list_display = ("label", "study", "day", "is_baseline", "order")
    list_filter = ("study", "is_baseline")


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ("user", "study", "role", "created_at")
    list_filter = ("role", "study")
    search_fields = ("user__username", "study__slug")
