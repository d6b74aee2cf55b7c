"""Export and ARRIVE pages under /s/<study>/. Thin: access, one call, render.

Exports and the ARRIVE report show treatment groups, so only investigators and data
managers reach them (a technician gets 404, as a non-member does). They only read: the
import's pages, which write, are sessions/import_views.py.
"""

from __future__ import annotations

import re
import tempfile

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from analysis import arrive, exports, thresholds
from labstudy.access import StudyAccess, study_access
from labstudy.models import comparable_methods


def _export_access(request: HttpRequest, slug: str) -> StudyAccess:
    return study_access(request.user, slug, may="can_export")


def _method(request: HttpRequest, study) -> str:
    method = thresholds.method_key(request.GET.get("method") or study.threshold_method)
    if method not in dict(comparable_methods(study.threshold_method)):
        raise Http404("Unknown threshold method, or one this study's series cannot be read by.")
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
            "method_name": thresholds.method_name(method),
            "methods": comparable_methods(study.threshold_method),
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
