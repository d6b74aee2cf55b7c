"""Who may do what in a study: the one place per-study permissions are decided.

Every "who may" is a named property of `StudyAccess` (`can_dose`, `can_sign_off`,
`can_export`...), and views, templates, forms and template tags ask those properties;
role names and role tuples appear here and nowhere else in the product code. A page names
the property that opens it (`study_access(user, slug, may="can_import")`).

A user without a membership gets 404 on every URL of the study, so the existence of a
study is not disclosed to outsiders; a member whose role may not open a page gets 404 too,
so a technician cannot probe set-up pages. Superusers are treated as data managers.

It must not decide whether something may still be recorded (study locked, timepoint
signed off): that is the study's state, not the person's role (Study.recording_refusal,
Timepoint.recording_refusal).
"""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import OuterRef, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from labstudy.models import Membership, Role, Study

BENCH_ROLES = (
    Role.TECHNICIAN,
    Role.DOSING_TECHNICIAN,
    Role.TESTER,
    Role.INVESTIGATOR,
    Role.DATA_MANAGER,
)
BLINDABLE_ROLES = (Role.TECHNICIAN, Role.DOSING_TECHNICIAN, Role.TESTER)
# Investigators and data managers: they read the whole study and decide about its animals.
OVERSIGHT_ROLES = (Role.INVESTIGATOR, Role.DATA_MANAGER)
HIDDEN_WHILE_BLINDED = "Past results are hidden while the study is blinded."

NOT_YOUR_ROLE = "This page is not available to your role."
# The 404's reason when a member's role may not do what a page does (labstudy.errors
# shows it); a property not listed here refuses with NOT_YOUR_ROLE.
REFUSALS = {
    "can_dose": "Dosing is not part of your role in this study.",
    "can_test": "von Frey testing is not part of your role in this study.",
    "can_allocate": "Only data managers allocate animals.",
    "can_view_results": "Results are not shown to technicians on a blinded study.",
    "can_view_history": "The audit trail is not available to blinded technicians.",
}


@dataclass(frozen=True)
class StudyAccess:
    study: Study
    role: str

    # --- the bench -------------------------------------------------------------------

    @property
    def is_technician(self) -> bool:
        """Any bench role (technician, dosing technician, tester)."""
        return self.role in BLINDABLE_ROLES

    @property
    def can_record(self) -> bool:
        """Opens the bench: weights and observations, and voids them (every member)."""
        return self.role in BENCH_ROLES

    @property
    def can_dose(self) -> bool:
        """Works the dosing worksheet (a tester does not: it shows solution letters)."""
        return self.can_record and self.role != Role.TESTER

    @property
    def can_test(self) -> bool:
        """Runs von Frey sessions (a dosing technician does not)."""
        return self.can_record and self.role != Role.DOSING_TECHNICIAN

    # --- what a person sees ------------------------------------------------------------

    @property
    def sees_treatment(self) -> bool:
        """False for bench roles on a blinded study: codes (and, dosing, letters) only."""
        return not (self.study.blinded and self.is_technician)

    @property
    def sees_solution_letters(self) -> bool:
        """Letters on the pages where a blinded technician acts on them: the dosing
        worksheet. Anywhere else (overview, day lists) letters next to codes could be
        averaged against results, so pages outside the worksheet use `sees_treatment`."""
        return self.sees_treatment or self.can_dose

    @property
    def sees_past_results(self) -> bool:
        """Another day's sessions, series and thresholds, and cross-animal history.

        A blinded bench role sees today's work and the session in hand only."""
        return self.sees_treatment

    def sees_day(self, date) -> bool:
        """May this person open the bench on `date`? Today and later always; earlier days
        only for those who see past results."""
        return self.sees_past_results or date >= timezone.localdate()

    @property
    def can_view_results(self) -> bool:
        """The dashboard, completeness and figure pages."""
        return self.sees_treatment

    @property
    def can_view_history(self) -> bool:
        """An animal's or a session's audit trail (it would show the allocation)."""
        return self.sees_treatment

    @property
    def can_print_cage_cards(self) -> bool:
        """The cage card sheet. On a blinded study a card shows each animal's solution
        letter next to its code, which a blinded bench role sees on the dosing worksheet
        only (`sees_solution_letters`), so its cards come from the investigator or the data
        manager; on an open study every member prints them."""
        return self.can_record and self.sees_treatment

    @property
    def can_view_allocation(self) -> bool:
        """The allocation page: data managers allocate, investigators read it."""
        return self.role in OVERSIGHT_ROLES

    # --- decisions about the study and its animals -------------------------------------

    @property
    def can_setup(self) -> bool:
        """The study's settings, groups, phases, timepoints, and adding animals."""
        return self.role == Role.DATA_MANAGER

    @property
    def can_allocate(self) -> bool:
        """Allocates (and, in planning, re-allocates) animals to groups."""
        return self.role == Role.DATA_MANAGER

    @property
    def can_manage_members(self) -> bool:
        """The People page: adds members, changes roles, removes members."""
        return self.role == Role.DATA_MANAGER

    @property
    def can_change_status(self) -> bool:
        """Marks an animal excluded, died or euthanised, or active again."""
        return self.role in OVERSIGHT_ROLES

    @property
    def can_sign_off(self) -> bool:
        """Signs a timepoint off (its sessions become read-only) and reopens it."""
        return self.role == Role.INVESTIGATOR

    @property
    def can_unblind(self) -> bool:
        return self.role == Role.INVESTIGATOR

    # --- records leaving and entering the study ----------------------------------------

    @property
    def can_export(self) -> bool:
        """Exports and the ARRIVE report: investigators and data managers."""
        return self.role in OVERSIGHT_ROLES and self.sees_treatment

    @property
    def can_plan(self) -> bool:
        """The sample-size planning page: investigators and data managers, who see the
        groups (a plan reads the study's results by group)."""
        return self.role in OVERSIGHT_ROLES and self.sees_treatment

    @property
    def can_import(self) -> bool:
        """Imports a spreadsheet of recorded data into the study."""
        return self.role == Role.DATA_MANAGER

    def role_label(self) -> str:
        return Role(self.role).label

    def require(self, may: str) -> "StudyAccess":
        """This access when the property `may` holds; else 404 saying why (REFUSALS)."""
        if not getattr(self, _checked(may)):
            raise Http404(REFUSALS.get(may, NOT_YOUR_ROLE))
        return self


def _checked(may: str) -> str:
    """`may` when it names a StudyAccess property: a typo fails loudly, never opens a page."""
    if not isinstance(getattr(StudyAccess, may, None), property):
        raise ValueError(f"StudyAccess has no property {may!r}.")
    return may


def study_access(user: AbstractBaseUser, slug: str, *, may: str = "") -> StudyAccess:
    """The study and the user's role in it; 404 for non-members, 403-free by design.

    `may` names the StudyAccess property that opens the page ("can_import"); a member for
    whom it is false gets 404 too, with the reason REFUSALS gives. `roles` is the older
    form of the same limit (a member with another role gets 404); views name a property.
    """
    access = _cached(user, slug)
    if access is None:
        studies = Study.objects.select_related("filament_set")
        if not user.is_superuser:
            # The role in the same query as the study: one round trip on every study page.
            role = Membership.objects.filter(user=user, study=OuterRef("pk")).order_by()
            studies = studies.annotate(_member_role=Subquery(role.values("role")[:1]))
        study = get_object_or_404(studies, slug=slug)
        if user.is_superuser:
            role = Role.DATA_MANAGER
        else:
            role = study._member_role
            if role is None:
                raise Http404("No such study.")
        access = StudyAccess(study=study, role=role)
        _remember(user, slug, access)
    if may:
        access.require(may)
    return access


# The user object lives for one request (django.contrib.auth loads it per request), so
# caching on it lets StudyMembershipMiddleware and the view share one lookup.
_CACHE_ATTR = "_labstudy_study_access"


def _cached(user, slug: str) -> "StudyAccess | None":
    return getattr(user, _CACHE_ATTR, {}).get(slug)


def _remember(user, slug: str, access: "StudyAccess") -> None:
    cache = getattr(user, _CACHE_ATTR, None)
    if cache is None:
        cache = {}
        try:
            setattr(user, _CACHE_ATTR, cache)
        except AttributeError:  # AnonymousUser and other immutable stand-ins
            return
    cache[slug] = access


def studies_for(user: AbstractBaseUser):
    """The studies a user works on, with their role annotated as `my_role`."""
    from django.db.models import Value

    if user.is_superuser:
        return Study.objects.annotate(my_role=Value(Role.DATA_MANAGER))
    role = Membership.objects.filter(user=user, study=OuterRef("pk")).values("role")[:1]
    return Study.objects.filter(memberships__user=user).annotate(my_role=Subquery(role))


def can_create_studies(user: AbstractBaseUser) -> bool:
    return user.is_superuser or user.has_perm("labstudy.add_study")


def can_connect_tablets(user: AbstractBaseUser) -> bool:
    """The Connect a tablet page (lan.views): anyone signed in, whatever their studies.

    It shows only this computer's address and the public half of its certificate, and
    whoever sets up a tablet (often a technician) needs it before being on a study."""
    return user.is_authenticated and user.is_active
