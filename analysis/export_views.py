"""Export, import and ARRIVE pages under /s/<study>/. Thin: access, one call, render.

Exports and the ARRIVE report show treatment groups, so only investigators and data
managers reach them (a technician gets 404, as a non-member does). Only data managers
import. The import is two steps: the upload is checked without writing (dry run) and
kept in a private temporary file; the preview lists what would be created and every
error; confirming imports exactly the file that was previewed, in one transaction.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import tempfile
import time
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from analysis import arrive, exports
from labstudy.access import StudyAccess, study_access
from labstudy.models import Role, Study, ThresholdMethod
from sessions.importing import ImportResult, import_study_csv, size_problem

EXPORT_ROLES = (Role.INVESTIGATOR, Role.DATA_MANAGER)
IMPORT_ROLES = (Role.DATA_MANAGER,)
ERRORS_SHOWN = 500
UPLOAD_DIR = Path(tempfile.gettempdir()) / "labstudy-imports"
UPLOAD_MAX_AGE_S = 24 * 3600


def _export_access(request: HttpRequest, slug: str) -> StudyAccess:
    access = study_access(request.user, slug, roles=EXPORT_ROLES)
    if not access.sees_treatment:  # never a blinded technician, whatever the roles say
        raise Http404("This page is not available to your role.")
    return access


def _method(request: HttpRequest, study) -> str:
    method = request.GET.get("method") or study.threshold_method
    if method not in ThresholdMethod.values:
        raise Http404("Unknown threshold method.")
    return method


# ----------------------------------------------------------------------------- exports


@login_required
@require_GET
def export_index(request: HttpRequest, slug: str) -> HttpResponse:
    access = _export_access(request, slug)
    study = access.study
    method = _method(request, study)
    export = exports.StudyExport(study, method=method)
    query = "" if method == study.threshold_method else f"?method={method}"
    tables = [
        {"spec": spec, "file_name": export.file_name(spec.key), "query": query}
        for spec in exports.TABLES
    ]
    return render(
        request,
        "analysis/exports.html",
        {
            "access": access,
            "study": study,
            "section": "exports",
            "method": method,
            "method_label": exports.method_label(method),
            "methods": ThresholdMethod.choices,
            "query": query,
            "tables": tables,
            "package_name": f"{export.stem}.zip",
            "workbook_name": export.file_name("tables", "xlsx"),
            "methods_name": export.file_name("methods", "txt"),
            "counts": export.counts(),
        },
    )


_DOWNLOAD_TOKEN = re.compile(r"^[0-9A-Za-z]{1,40}$")


def _download_started(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Tell the page that asked for a file that it is on its way: static/js/busy.js shows
    "Preparing…" until this cookie carries the token it sent."""
    token = request.GET.get("download_token", "")
    if _DOWNLOAD_TOKEN.match(token):
        response.set_cookie(
            "labstudy_download",
            token,
            max_age=120,
            samesite="Lax",
            secure=request.is_secure(),
            httponly=False,  # the page's script reads it; it carries nothing secret
        )
    return response


@login_required
@require_GET
def export_table(request: HttpRequest, slug: str, what: str) -> StreamingHttpResponse:
    access = _export_access(request, slug)
    if what not in exports.TABLE_KEYS:
        raise Http404("No such export.")
    export = exports.StudyExport(access.study, method=_method(request, access.study))
    response = StreamingHttpResponse(
        export.csv_chunks(what), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = content_disposition_header(True, export.file_name(what))
    return response


@login_required
@require_GET
def export_package(request: HttpRequest, slug: str) -> FileResponse:
    access = _export_access(request, slug)
    export = exports.StudyExport(access.study, method=_method(request, access.study))
    archive = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
    export.write_package(archive)
    archive.seek(0)
    response = FileResponse(
        archive, as_attachment=True, filename=f"{export.stem}.zip", content_type="application/zip"
    )
    return _download_started(request, response)


@login_required
@require_GET
def export_workbook(request: HttpRequest, slug: str) -> FileResponse:
    access = _export_access(request, slug)
    export = exports.StudyExport(access.study, method=_method(request, access.study))
    book = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
    export.write_workbook(book)
    book.seek(0)
    response = FileResponse(
        book,
        as_attachment=True,
        filename=export.file_name("tables", "xlsx"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    return _download_started(request, response)


@login_required
@require_GET
def export_methods(request: HttpRequest, slug: str) -> HttpResponse:
    access = _export_access(request, slug)
    export = exports.StudyExport(access.study, method=_method(request, access.study))
    response = HttpResponse(export.methods_text(), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        True, export.file_name("methods", "txt")
    )
    return response


# ----------------------------------------------------------------------------- import


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="A stimuli CSV (the stimuli export's format) or a thresholds-only CSV.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv"}),
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
        }


def _session_key(slug: str) -> str:
    return f"labstudy-import:{slug}"


def _store(data: bytes) -> str:
    UPLOAD_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    _sweep()
    token = secrets.token_urlsafe(24)
    (UPLOAD_DIR / f"{token}.csv").write_bytes(data)
    return token


def _sweep() -> None:
    """Forget uploads that were previewed but never confirmed."""
    cutoff = time.time() - UPLOAD_MAX_AGE_S
    for path in UPLOAD_DIR.glob("*.csv"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass


def _errors(result: ImportResult) -> dict:
    return {
        "result": result,
        "shown_errors": result.errors[:ERRORS_SHOWN],
        "hidden_errors": max(0, len(result.errors) - ERRORS_SHOWN),
    }


def _upload_path(token: str) -> Path:
    if not token or not all(c.isalnum() or c in "-_" for c in token):
        raise Http404("No such upload.")
    return UPLOAD_DIR / f"{token}.csv"


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
    if request.method != "POST" or not form.is_valid():
        return render(request, "analysis/import_upload.html", context)
    upload = form.cleaned_data["file"]
    name = Path(upload.name).name[:200]
    if upload.size > limit:
        result = ImportResult(
            source_name=name, slug=study.slug, errors=[size_problem(upload.size, limit)]
        )
        return render(request, "analysis/import_preview.html", {**context, **_errors(result)})
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
        token = _store(data)
        request.session[_session_key(study.slug)] = {
            "token": token,
            "name": name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "options": options,
        }
    return render(
        request,
        "analysis/import_preview.html",
        {**context, **_errors(result), "token": token},
    )


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
    path = _upload_path(token)
    try:
        data = path.read_bytes()
    except OSError:
        messages.error(request, "That upload has expired. Upload the file again.")
        return redirect("import_upload", slug=study.slug)
    if hashlib.sha256(data).hexdigest() != pending["sha256"]:
        raise Http404("The stored upload changed.")
    result = import_study_csv(
        data=data,
        source_name=pending["name"],
        slug=study.slug,
        user=request.user,
        max_bytes=settings.LABSTUDY_MAX_UPLOAD_BYTES,
        **pending.get("options", {}),
    )
    if not result.ok:
        # The study changed between preview and confirm; nothing was written, and this
        # upload can no longer be confirmed.
        path.unlink(missing_ok=True)
        del request.session[_session_key(study.slug)]
        return render(
            request,
            "analysis/import_preview.html",
            {
                "access": access,
                "study": study,
                "section": "import",
                "token": "",
                **_errors(result),
            },
        )
    path.unlink(missing_ok=True)
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


# ----------------------------------------------------------------------------- ARRIVE


@login_required
@require_GET
def arrive_report(request: HttpRequest, slug: str) -> HttpResponse:
    access = _export_access(request, slug)
    report = arrive.arrive_report(access.study)
    return render(
        request,
        "analysis/arrive.html",
        {"access": access, "study": access.study, "section": "arrive", "report": report},
    )
