"""The study import's pages under /s/<study>/import/: upload, preview, confirm. Thin:
access, one call to `sessions.importing.import_study_csv`, render.

Only data managers import. The import is two steps: the upload is checked without
writing (dry run) and kept in a private temporary file for at most an hour
(sessions/uploads.py); the preview lists what would be created and every error;
confirming imports exactly the file that was previewed, in one transaction. Holds no
import rule of its own: every check is in sessions/importing/.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from labstudy.access import study_access
from labstudy.models import Role, Study, TreatmentGroup
from sessions import uploads
from sessions.importing import ImportResult, import_study_csv, size_problem

IMPORT_ROLES = (Role.DATA_MANAGER,)
ERRORS_SHOWN = 500


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV or Excel file",
        help_text=(
            "A stimuli table (the stimuli export's format) or a thresholds-only table: CSV, "
            "Excel's Unicode text, or an Excel workbook (.xlsx)."
        ),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".csv,.txt,.tsv,.xlsx,text/csv,text/plain,"
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )
    sheet = forms.CharField(
        label="Sheet (Excel workbooks)",
        required=False,
        max_length=100,
        help_text="Optional: the sheet's name as on its tab; empty reads the first sheet.",
    )
    # The study's analysis settings, which a CSV does not carry (as import_study's --alpha,
    # --posthoc, --pairs); empty keeps the study's. Applied while the study is in planning.
    alpha = forms.FloatField(
        label="Significance level (alpha)",
        required=False,
        min_value=0.0001,
        max_value=0.5,
        help_text="Optional; empty keeps the study's.",
    )
    posthoc = forms.ChoiceField(
        label="Between-group post-hoc test",
        required=False,
        choices=[("", "keep the study's"), *Study.Posthoc.choices],
    )
    pairs = forms.CharField(
        label="Chosen timepoint comparisons",
        required=False,
        max_length=200,
        help_text="Optional, e.g. T7-T4 or T7-T4,T5-T1; the timepoints must be in the file.",
    )

    def options(self) -> dict:
        """import_study_csv's alpha, posthoc and pairs; None where left empty."""
        data = self.cleaned_data
        return {
            "alpha": data.get("alpha"),
            "posthoc": data.get("posthoc") or None,
            "pairs": (data.get("pairs") or "").strip() or None,
            "sheet": (data.get("sheet") or "").strip() or None,
        }


def _session_key(slug: str) -> str:
    return f"labstudy-import:{slug}"


def _errors(result: ImportResult) -> dict:
    return {
        "result": result,
        "shown_errors": result.errors[:ERRORS_SHOWN],
        "hidden_errors": max(0, len(result.errors) - ERRORS_SHOWN),
    }


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest, slug: str) -> HttpResponse:
    access = study_access(request.user, slug, roles=IMPORT_ROLES)
    study = access.study
    limit = settings.LABSTUDY_MAX_UPLOAD_BYTES
    posted = request.method == "POST"
    form = UploadForm(request.POST if posted else None, request.FILES if posted else None)
    context = {"access": access, "study": study, "section": "import", "form": form}
    context["limit_mb"] = f"{limit / (1024 * 1024):g}"
    if posted:
        uploads.purge()  # unconfirmed uploads older than an hour, whoever left them
    if request.method != "POST" or not form.is_valid():
        return render(request, "sessions/import_upload.html", context)
    upload = form.cleaned_data["file"]
    name = Path(upload.name).name[:200]
    if upload.size > limit:
        result = ImportResult(
            source_name=name, slug=study.slug, errors=[size_problem(upload.size, limit)]
        )
        return render(request, "sessions/import_preview.html", {**context, **_errors(result)})
    data = upload.read()
    options = form.options()
    result = import_study_csv(
        data=data,
        source_name=name,
        slug=study.slug,
        user=request.user,
        dry_run=True,
        max_bytes=limit,
        **options,
    )
    token = ""
    if result.ok:
        token = uploads.store(data)
        context["expires_at"] = timezone.now() + uploads.MAX_AGE
        request.session[_session_key(study.slug)] = {
            "token": token,
            "name": name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "options": options,
            "new_groups": result.new_groups,
        }
    return render(
        request,
        "sessions/import_preview.html",
        {**context, **_preview(result), "token": token},
    )


def _preview(result: ImportResult) -> dict:
    """The preview's errors and the choices it offers: control group, baseline and what
    each new group was given, numbered so a group code never becomes a field name."""
    groups = [
        {"index": i, "code": code, **result.group_details.get(code, {})}
        for i, code in enumerate(result.new_groups)
    ]
    return {**_errors(result), "groups": groups, "routes": TreatmentGroup.Route.choices}


def _choices(request: HttpRequest, pending: dict) -> dict:
    """import_study_csv's control, baseline and groups from the preview form. A select
    the preview did not show (the study fixes it) is absent: None keeps the study's."""
    post = request.POST
    groups = {}
    for i, code in enumerate(pending.get("new_groups", [])):
        groups[code] = {
            key: post.get(f"group-{i}-{key}", "")
            for key in ("name", "drug", "dose_mg_kg", "route", "vehicle", "colour")
        }
    return {
        "control": post.get("control") if "control" in post else None,
        "baseline": post.get("baseline") or None,
        "groups": groups,
    }


@login_required
@require_POST
def import_confirm(request: HttpRequest, slug: str) -> HttpResponse:
    access = study_access(request.user, slug, roles=IMPORT_ROLES)
    study = access.study
    pending = request.session.get(_session_key(study.slug)) or {}
    token = request.POST.get("token", "")
    if not pending or pending.get("token") != token:
        messages.error(request, "That upload has expired or was already imported. Upload again.")
        return redirect("import_upload", slug=study.slug)
    try:
        data = uploads.read(token)
    except uploads.UploadExpired:
        del request.session[_session_key(study.slug)]
        messages.error(
            request,
            "This upload expired (a preview lasts one hour); upload the file again. "
            "Nothing was imported.",
        )
        return redirect("import_upload", slug=study.slug)
    if hashlib.sha256(data).hexdigest() != pending["sha256"]:
        raise Http404("The stored upload changed.")
    check_only = request.POST.get("action") == "check"
    result = import_study_csv(
        data=data,
        source_name=pending["name"],
        slug=study.slug,
        user=request.user,
        max_bytes=settings.LABSTUDY_MAX_UPLOAD_BYTES,
        dry_run=check_only,
        **pending.get("options", {}),
        **_choices(request, pending),
    )
    if not result.ok and any(p.line is not None for p in result.errors):
        # The study changed between preview and confirm (a row now clashes with it):
        # nothing was written, and this upload can no longer be confirmed.
        uploads.discard(token)
        del request.session[_session_key(study.slug)]
        token = ""
    if check_only or not result.ok:
        # Nothing was written: show the preview again with the choices made, so a wrong
        # choice (the only errors left with a token) can be corrected.
        return render(
            request,
            "sessions/import_preview.html",
            {
                "access": access,
                "study": study,
                "section": "import",
                "token": token,
                **_preview(result),
            },
        )
    uploads.discard(token)
    del request.session[_session_key(study.slug)]
    created = (
        f"{result.stimuli} stimuli in {result.sessions} sessions"
        if result.kind == "stimuli"
        else f"{result.legacy_thresholds} legacy thresholds"
    )
    messages.success(
        request,
        f"Imported {pending['name']}: {created}, {len(result.new_animals)} new animals.",
    )
    return redirect("export_index", slug=study.slug)
