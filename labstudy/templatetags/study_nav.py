"""The study navigation: pages grouped by what people do (Bench, Results, Set-up,
Records), each shown only to the roles its view lets in.

Who may open a page is decided by the named properties of `labstudy.access.StudyAccess`,
the same ones the views use, so a link never leads to a 404 for the person who sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import template
from django.urls import reverse

register = template.Library()


@dataclass(frozen=True)
class Page:
    section: str
    label: str
    url_name: str
    may: str  # the StudyAccess property that lets a person open the page
    extra: tuple = ()
    download: bool = False  # a file, not a page: the link says "preparing…" until it starts


GROUPS: tuple[tuple[str, tuple[Page, ...]], ...] = (
    (
        "Bench",
        (
            Page("bench", "Bench today", "bench_today", "can_record"),
            Page("doses", "Dosing", "bench_doses", "can_dose"),
            Page("weights", "Weights", "bench_weights", "can_record"),
            Page("observations", "Observations", "bench_observations", "can_record"),
        ),
    ),
    (
        "Results",
        (
            Page("dashboard", "Dashboard", "dashboard", "can_view_results"),
            Page("completeness", "Completeness", "dashboard_completeness", "can_view_results"),
            Page("figure", "Figure", "dashboard_figure", "can_view_results"),
            Page("planning", "Sample size", "study_planning", "can_plan"),
        ),
    ),
    (
        "Set-up",
        (
            Page("settings", "Settings", "study_setup", "can_setup"),
            Page("groups", "Groups", "study_setup_rows", "can_setup", ("groups",)),
            Page("phases", "Phases", "study_setup_rows", "can_setup", ("phases",)),
            Page("timepoints", "Timepoints", "study_setup_rows", "can_setup", ("timepoints",)),
            Page("animals", "Add animals", "study_add_animals", "can_setup"),
            Page("allocation", "Allocation", "study_allocation", "can_view_allocation"),
            Page("people", "People", "study_members", "can_manage_members"),
        ),
    ),
    (
        "Records",
        (
            Page("exports", "Exports", "export_index", "can_export"),
            Page("", "Publication package (.zip)", "export_package", "can_export", download=True),
            Page("arrive", "ARRIVE", "arrive_report", "can_export"),
            Page("import", "Import", "import_upload", "can_import"),
        ),
    ),
)


@register.inclusion_tag("labstudy/_study_nav_menu.html", takes_context=True)
def study_nav(context, access, section: str | None = None) -> dict:
    """The groups this member may open, with their pages, and which one is current."""
    slug = access.study.slug
    overview_url = reverse("study_overview", args=[slug])
    request = context.get("request")
    groups = []
    for name, pages in GROUPS:
        links = [
            {
                "label": page.label,
                "url": reverse(page.url_name, args=[slug, *page.extra]),
                "active": bool(section) and page.section == section,
                "download": page.download,
            }
            for page in pages
            if getattr(access, page.may)
        ]
        if links:
            current = next((link["label"] for link in links if link["active"]), None)
            groups.append({"name": name, "links": links, "current": current})
    return {
        "overview_url": overview_url,
        # History and animal pages belong to no menu, and are not the overview either.
        "overview_active": request is not None and request.path == overview_url,
        "groups": groups,
        # One group (a technician's Bench) needs no menus: its pages are shown as tabs.
        "flat": len(groups) == 1,
    }
