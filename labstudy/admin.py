"""Admin for the study design: studies, groups, phases, timepoints, memberships.

The admin is for inspection once a study has left planning: nothing designed or
recorded is deleted here, no history "Revert" is taken, and a study that is running,
locked or archived (with its design, members and records) is read-only. The app changes
these on its own pages, with their rules (reasons, confirmations, passwords for sign-off,
the last data manager). The base classes below hold that rule for every admin in the
project; a timepoint's sign-off and a record's void are never set here.
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from simple_history.admin import SimpleHistoryAdmin

from labstudy.models import Membership, Phase, Study, Timepoint, TreatmentGroup
from labstudy.validators import ADMIN_DECIMALS

LEFT_PLANNING = (
    "This study has left planning: change it on its Set-up pages, which ask for a reason. "
    "Here it can only be looked at."
)
LEFT_PLANNING_RECORDS = (
    "This study has left planning: its records can only be looked at here. A wrong entry "
    "is voided in the app, with a reason."
)
VOIDED = "This record is voided: it can only be looked at. Voids are kept with their reason."


def study_of(obj) -> Study | None:
    """The study a row belongs to: itself, or through its study, animal or session."""
    if isinstance(obj, Study):
        return obj
    for path in ("study", "animal.study", "session.animal.study"):
        target = obj
        try:
            for name in path.split("."):
                target = getattr(target, name)
        except AttributeError:
            continue
        return target
    return None


def study_has_left_planning(obj) -> bool:
    """True for a row of a running, locked or archived study: view-only in the admin."""
    study = study_of(obj) if obj is not None else None
    return study is not None and study.status != Study.Status.PLANNING


def is_voided(obj) -> bool:
    """A voided record (a weight, dose or observation ticked voided, a session voided)."""
    return bool(getattr(obj, "voided", False)) or getattr(obj, "status", None) == "voided"


def _only_planning(queryset):
    """Rows a new row may point to: studies in planning, or rows of one."""
    model = queryset.model
    if model is Study:
        return queryset.filter(status=Study.Status.PLANNING)
    if any(f.name == "study" for f in model._meta.get_fields()):
        return queryset.filter(study__status=Study.Status.PLANNING)
    return queryset


class InspectAfterPlanning:
    """The one rule: once its study has left planning, a row is view-only here (and so
    is a voided record); a new row can only point to a study in planning (or a row of
    one), and an inline adds no rows under a study that has left planning (KeptInline)."""

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and (study_has_left_planning(obj) or is_voided(obj)):
            return False
        return super().has_change_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and hasattr(field, "queryset"):
            field.queryset = _only_planning(field.queryset)
        return field


class KeptHistoryAdmin(InspectAfterPlanning, SimpleHistoryAdmin):
    """History shown, never reverted; rows never deleted (nor by the bulk action);
    view-only once the study has left planning (InspectAfterPlanning).

    django-simple-history's revert page saves whatever is posted to it even when
    SIMPLE_HISTORY_REVERT_DISABLED hides its button (and on a view-only record), so a
    POST there is refused outright.
    """

    left_planning_message = LEFT_PLANNING

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method in ("GET", "HEAD"):
            obj = self.get_object(request, unquote(object_id))
            if obj is not None and study_has_left_planning(obj):
                messages.warning(request, self.left_planning_message)
            elif obj is not None and is_voided(obj):
                messages.warning(request, VOIDED)
        return super().change_view(request, object_id, form_url, extra_context)

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


class KeptInline(InspectAfterPlanning, admin.TabularInline):
    """An inline whose rows cannot be deleted from the parent's page, and which is
    view-only (no new rows either) once the parent's study has left planning."""

    extra = 0

    def has_add_permission(self, request, obj=None) -> bool:
        # obj is the parent: no new rows under a study that has left planning.
        if obj is not None and study_has_left_planning(obj):
            return False
        return super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class GroupInline(KeptInline):
    model = TreatmentGroup
    formfield_overrides = {models.DecimalField: ADMIN_DECIMALS}


class PhaseInline(KeptInline):
    model = Phase


SIGN_OFF_FIELDS = ("locked_at", "locked_by")  # signed off and reopened on the sign-off page


class TimepointInline(KeptInline):
    model = Timepoint
    readonly_fields = SIGN_OFF_FIELDS


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
    readonly_fields = SIGN_OFF_FIELDS


@admin.register(Membership)
class MembershipAdmin(KeptHistoryAdmin):
    left_planning_message = (
        "This study has left planning: change its members on its People page. "
        "Here they can only be looked at."
    )
    list_display = ("user", "study", "role", "created_at")
    list_filter = ("role", "study")
    search_fields = ("user__username", "study__slug")
