"""Writing a checked import: the study (when new), its new groups, timepoints and
animals, then the sessions and stimuli, or the legacy thresholds, each row with its
history record (reason "imported from <file>").

Called only by `service.import_study_csv`, inside its transaction and after every check
passed; it does not check again and must not be called on a plan with errors.
"""

from __future__ import annotations

from collections import defaultdict

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from analysis import thresholds
from animals.models import Animal
from labstudy.bulk_history import insert_with_history
from labstudy.models import Study, Timepoint, TreatmentGroup
from sessions.importing.checks import Plan
from sessions.importing.parsing import KIND_STIMULI, Filaments, Row
from sessions.importing.preview import group_colour, status_reason
from sessions.importing.result import ImportResult
from sessions.models import LegacyThreshold, Stimulus, TestSession


def write_import(
    plan: Plan,
    result: ImportResult,
    kind: str,
    filaments: Filaments,
    *,
    user: AbstractBaseUser | None,
    title: str,
    slug: str,
    analysis: dict,
    details: dict[str, dict],
) -> Study:
    reason = f"imported from {result.source_name}"[:100]
    study = plan.study
    days = [r.day for r in plan.timepoints.values()]
    if study is not None and analysis:
        for key, value in analysis.items():
            setattr(study, key, value)
        study.full_clean()
        study._change_reason = f"analysis settings given with the import of {result.source_name}"
        study._history_user = user
        study.save(update_fields=[*analysis, "updated_at"])
    if study is None:
        from labstudy.services import create_study

        study = create_study(
            template_key="blank",
            slug=slug,
            title=title or slug,
            day0_date=plan.day0,
            user=user,
            threshold_method=result.method,
            cutoff_g=result.cutoff_g,
            first_day=min([0, *days]),
            last_day=max([0, *days]),
            description=f"Imported from {result.source_name}.",
            **analysis,
        )
    groups = {g.code: g for g in study.groups.all()}
    start = max((g.order for g in groups.values()), default=0)
    new_groups = []
    for i, code in enumerate(result.new_groups, start=1):
        given = details.get(code, {})
        new_groups.append(
            TreatmentGroup(
                study=study,
                code=code,
                name=given.get("name") or code,
                drug=given.get("drug", ""),
                dose_mg_kg=given.get("dose_mg_kg"),
                # A file says nothing of route or vehicle: empty ("not recorded"), not the
                # model's i.p. and saline.
                route=given.get("route", ""),
                vehicle=given.get("vehicle", ""),
                is_control=code == plan.control,
                order=start + i,
                colour=given.get("colour") or group_colour(start + i),
            )
        )
    if plan.control and plan.control in groups and not groups[plan.control].is_control:
        group = groups[plan.control]
        group.is_control = True
        group._change_reason = reason
        group.save(update_fields=["is_control", "updated_at"])
    for group in bulk_create_with_history(
        new_groups, TreatmentGroup, default_user=user, default_change_reason=reason
    ):
        groups[group.code] = group

    timepoints = {t.label: t for t in study.timepoints.all()}
    order_start = max((t.order for t in timepoints.values()), default=0)
    new_tps = [
        Timepoint(
            study=study,
            label=label,
            day=plan.timepoints[label].day,
            is_baseline=label == plan.baseline,
            order=order_start + i,
        )
        for i, label in enumerate(result.new_timepoints, start=1)
    ]
    base = timepoints.get(plan.baseline or "")
    if base is not None and not base.is_baseline:
        base.is_baseline = True
        base._change_reason = reason
        base.save(update_fields=["is_baseline", "updated_at"])
    for tp in bulk_create_with_history(
        new_tps, Timepoint, default_user=user, default_change_reason=reason
    ):
        timepoints[tp.label] = tp

    animals = {a.code: a for a in Animal.objects.filter(study=study, code__in=list(plan.animals))}
    default_sex = study.sex if study.sex in ("male", "female") else "male"
    today = timezone.localdate()
    new_animals = []
    for code in result.new_animals:
        first = plan.animals[code]
        status = first.animal_status or Animal.Status.ACTIVE
        gone = status != Animal.Status.ACTIVE
        new_animals.append(
            Animal(
                study=study,
                code=code,
                cage=first.cage,
                sex=first.sex or default_sex,
                group=groups.get(first.group),
                status=status,
                # The file carries no status date: the import day is the honest one.
                status_date=today if gone else None,
                status_reason=status_reason(status) if gone else "",
                created_by=user,
            )
        )
    for animal in bulk_create_with_history(
        new_animals, Animal, default_user=user, default_change_reason=reason
    ):
        animals[animal.code] = animal

    if kind == KIND_STIMULI:
        _write_stimuli(plan, result, study, filaments, animals, timepoints, user, reason)
    else:
        _write_thresholds(plan, result, animals, timepoints, user, reason)
    return study


def _users(names: set[str]) -> dict[str, AbstractBaseUser]:
    User = get_user_model()
    field_name = User.USERNAME_FIELD
    return {getattr(u, field_name): u for u in User.objects.filter(**{f"{field_name}__in": names})}


def _write_stimuli(plan, result, study, filaments, animals, timepoints, user, reason) -> None:
    by_session: dict[tuple, list[Row]] = defaultdict(list)
    for row in plan.rows:
        by_session[(row.animal, row.timepoint, row.paw)].append(row)
    testers = _users({r.tester for r in plan.rows if r.tester})
    # Who tapped each application, when the file says (an export of ours) and the account
    # exists here; otherwise the session's tester.
    tappers = _users({r.recorded_by for r in plan.rows if r.recorded_by})
    missing = sorted({r.tester for r in plan.rows if r.tester and r.tester not in testers})
    if missing:
        result.notes.append(
            f"tester(s) {', '.join(missing)} have no account here: kept in the session notes"
        )
    now = timezone.now()
    sessions = []
    for (animal, tp, paw), rows in by_session.items():
        rows.sort(key=lambda r: r.order)
        series = [(r.filament.size, r.withdrew) for r in rows]
        done = (
            thresholds.next_filament(
                series,
                filaments.specs,
                method=study.threshold_method,
                start=study.start_filament,
                **study.method_params,
            )
            is None
        )
        stamps = [r.tested_at for r in rows if r.tested_at is not None]
        tester_name = rows[0].tester
        notes = f"Imported from {result.source_name}, lines {rows[0].line}–{rows[-1].line}."
        if tester_name and tester_name not in testers:
            notes += f" Tester in the file: {tester_name}."
        tester = testers.get(tester_name)
        sessions.append(
            {
                "animal_id": animals[animal].pk,
                "timepoint_id": timepoints[tp].pk,
                "paw": paw,
                "tested_at": min(stamps) if stamps else None,
                "tester_id": tester.pk if tester else None,
                "method": study.threshold_method,
                "status": TestSession.Status.COMPLETE if done else TestSession.Status.IN_PROGRESS,
                "notes": notes,
                "created_by_id": user.pk if user else None,
            }
        )
    session_ids = insert_with_history(TestSession, sessions, user=user, reason=reason)
    note_prefix = f"imported: {result.source_name}"[:180]
    stimuli = []
    for session_id, session, rows in zip(session_ids, sessions, by_session.values(), strict=True):
        for row in rows:
            stimuli.append(
                {
                    "session_id": session_id,
                    "order": row.order,
                    "filament_id": row.filament.pk,
                    "withdrew": row.withdrew,
                    "recorded_at": row.tested_at or now,
                    "recorded_by_id": (
                        tappers[row.recorded_by].pk
                        if row.recorded_by in tappers
                        else session["tester_id"]
                    ),
                    # The file's own note when it has the column (an export of ours);
                    # otherwise where the row came from.
                    "note": row.note if row.note is not None else f"{note_prefix} line {row.line}",
                    "is_override": row.override,
                }
            )
    insert_with_history(Stimulus, stimuli, user=user, reason=reason)


def _write_thresholds(plan, result, animals, timepoints, user, reason) -> None:
    rows = [
        {
            "animal_id": animals[r.animal].pk,
            "timepoint_id": timepoints[r.timepoint].pk,
            "paw": r.paw,
            "method": r.method,
            "threshold_g": r.threshold_g,
            "status": r.status,
            "pattern": r.pattern,
            "source_file": result.source_name[:255],
            "source_line": r.line,
            "imported_by_id": user.pk if user else None,
        }
        for r in plan.rows
    ]
    insert_with_history(LegacyThreshold, rows, user=user, reason=reason)
