"""Admin for the study design: studies, groups, phases, timepoints, memberships.

Nothing designed or recorded is deleted here, and no history "Revert" is taken: the app
changes these with its own rules (reasons, sign-off, the last data manager). The two
base classes below hold that rule for every admin in the project.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from simple_history.admin import SimpleHistoryAdmin

from labstudy.models import Membership, Phase, Study, Timepoint, TreatmentGroup
from labstudy.validators import ADMIN_DECIMALS


class KeptHistoryAdmin(SimpleHistoryAdmin):
    """History shown, never reverted; rows never deleted (nor by the bulk action).

    django-simple-history's revert page saves whatever is posted to it even when
    SIMPLE_HISTORY_REVERT_DISABLED hides its button (and on a view-only record), so a
    POST there is refused outright.
    """

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method not in ("GET", "HEAD") and self.revert_disabled(request):
            raise PermissionDenied("Reverting from the history is disabled.")
        return super().history_form_view(request, object_id, version_id, extra_context)


class KeptInline(admin.TabularInline):
    """An inline whose rows cannot be deleted from the parent's page."""

    extra = 0

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class GroupInline(KeptInline):
    model = TreatmentGroup
    formfield_overrides = {models.DecimalField: ADMIN_DECIMALS}


class PhaseInline(KeptInline):
    model = Phase


class TimepointInline(KeptInline):
    model = Timepoint


@admin.register(Study)
class StudyAdmin(KeptHistoryAdmin):
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
class TreatmentGroupAdmin(KeptHistoryAdmin):
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
class PhaseAdmin(KeptHistoryAdmin):
    list_display = ("code", "name", "study", "first_day", "last_day", "dosed")
    list_filter = ("study", "dosed")


@admin.register(Timepoint)
class TimepointAdmin(KeptHistoryAdmin):
    list_display = ("label", "study", "day", "is_baseline", "order")
    list_filter = ("study", "is_baseline")


@admin.register(Membership)
class MembershipAdmin(KeptHistoryAdmin):
    list_display = ("user", "study", "role", "created_at")
    list_filter = ("role", "study")
    search_fields = ("user__username", "study__slug")
