"""The study's People page: data managers add members, change roles and remove members.

Thin: access (data managers only; everyone else gets 404), a form, one call into
labstudy.memberships. One URL; the posted `action` says which form was sent.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from labstudy import memberships
from labstudy.access import study_access
from labstudy.forms import AddMemberForm, ChangeRoleForm, RemoveMemberForm
from labstudy.models import ROLE_DESCRIPTIONS, Role

FORMS = {"add": AddMemberForm, "role": ChangeRoleForm, "remove": RemoveMemberForm}


def _run(action: str, data: dict, study, user):
    if action == "add":
        member = memberships.add_member(
            study=study, username=data["username"], role=data["role"], by=user
        )
        return f"{member.user.username} added as {member.get_role_display().lower()}."
    if action == "role":
        member = memberships.change_role(
            study=study, membership_id=data["membership"], role=data["role"], by=user
        )
        return f"{member.user.username} is now {member.get_role_display().lower()}."
    member = memberships.remove_member(
        study=study, membership_id=data["membership"], reason=data["reason"], by=user
    )
    return f"{member.user.username} removed from the study."


@login_required
@require_http_methods(["GET", "POST"])
def study_members(request: HttpRequest, slug: str) -> HttpResponse:
    access = study_access(request.user, slug, may="can_manage_members")
    study = access.study
    add_form = AddMemberForm(prefix="add")
    errors: list[str] = []
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in FORMS:
            errors.append("Choose to add a person, change a role or remove a member.")
        else:
            form = FORMS[action](request.POST, prefix="add" if action == "add" else None)
            if action == "add":
                add_form = form
            if form.is_valid():
                try:
                    done = _run(action, form.cleaned_data, study, request.user)
                except ValidationError as exc:
                    errors.extend(exc.messages)
                else:
                    messages.success(request, done)
                    return redirect("study_members", slug=study.slug)
            else:
                errors.extend(
                    f"{form.fields[name].label or name.capitalize()}: {message}"
                    if name in form.fields
                    else message
                    for name, messages_ in form.errors.items()
                    for message in messages_
                )
    members = study.memberships.select_related("user", "created_by").order_by("user__username")
    return render(
        request,
        "labstudy/members.html",
        {
            "access": access,
            "study": study,
            "section": "people",
            "members": members,
            "roles": Role.choices,
            "role_descriptions": [(Role(r).label, text) for r, text in ROLE_DESCRIPTIONS.items()],
            "add_form": add_form,
            "errors": errors,
            "removals": memberships.removals(study)[:50],
        },
    )
