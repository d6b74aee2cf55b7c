"""Who works on a study and in which role: adding, re-roling and removing members.

Every change is kept in Membership's history with who made it and why; a removal needs a
reason. A study always keeps at least one data manager, and a data manager cannot remove
or demote themselves (another data manager must), so nobody locks a study out by mistake.
Views call these functions; they must not decide access (labstudy.access does).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from labstudy import audit
from labstudy.models import Membership, Role, Study


def _role(value: str) -> str:
    if value not in Role.values:
        raise ValidationError({"role": f"'{value}' is not a role."})
    return value


def _membership(study: Study, membership_id: int) -> Membership:
    # Locks the study's data-manager rows too, so two removals at once cannot both pass
    # the "last data manager" check.
    list(
        Membership.objects.select_for_update()
        .filter(study=study, role=Role.DATA_MANAGER)
        .values_list("pk")
    )
    try:
        return Membership.objects.select_related("user").get(study=study, pk=membership_id)
    except Membership.DoesNotExist:
        raise ValidationError("That person is not a member of this study.") from None


def _keep_a_data_manager(membership: Membership, by: AbstractBaseUser, action: str) -> None:
    if membership.role != Role.DATA_MANAGER:
        return
    if membership.user_id == by.pk:
        raise ValidationError(
            f"You cannot {action} yourself as data manager; ask another data manager."
        )
    others = Membership.objects.filter(study=membership.study, role=Role.DATA_MANAGER).exclude(
        pk=membership.pk
    )
    if not others.exists():
        raise ValidationError(
            f"{membership.user.username} is the study's last data manager: "
            "make someone else data manager first."
        )


@transaction.atomic
def add_member(*, study: Study, username: str, role: str, by: AbstractBaseUser) -> Membership:
    """Give an existing user a role in the study."""
    role = _role(role)
    username = username.strip()
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ValidationError({"username": f"There is no active user called '{username}'."})
    existing = Membership.objects.filter(study=study, user=user).first()
    if existing is not None:
        raise ValidationError(
            {
                "username": f"{username} is already {existing.get_role_display().lower()} "
                "in this study; change the role in the list instead."
            }
        )
    membership = Membership(study=study, user=user, role=role, created_by=by)
    membership._change_reason = f"added as {Role(role).label.lower()}"
    membership._history_user = by
    membership.save()
    return membership


@transaction.atomic
def change_role(*, study: Study, membership_id: int, role: str, by: AbstractBaseUser) -> Membership:
    """Give a member another role; the last data manager keeps theirs."""
    role = _role(role)
    membership = _membership(study, membership_id)
    if membership.role == role:
        return membership
    if role != Role.DATA_MANAGER:
        _keep_a_data_manager(membership, by, "demote")
    old = Role(membership.role).label.lower()
    membership.role = role
    membership._change_reason = f"role changed from {old} to {Role(role).label.lower()}"
    membership._history_user = by
    membership.save(update_fields=["role", "updated_at"])
    return membership


@transaction.atomic
def remove_member(
    *, study: Study, membership_id: int, reason: str, by: AbstractBaseUser
) -> Membership:
    """End a membership; the reason and who removed it stay in the history."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why this person leaves the study."})
    membership = _membership(study, membership_id)
    _keep_a_data_manager(membership, by, "remove")
    membership._change_reason = reason
    membership._history_user = by
    membership.delete()
    return membership


def removals(study: Study):
    """Past removals from the study, newest first, with who removed whom and why."""
    return audit.membership_removals(study)
