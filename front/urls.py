"""Addresses of the pages that gather several apps (front.views), included at the root by
labstudy.urls. Every name and path is the one the site has always had."""

from django.urls import path, re_path

from front import cage_views, planning_views, views

# Animal codes and timepoint labels sit in addresses as <path:>, not <str:>: the set-up
# forms refuse '/' (labstudy.validators), yet a code stored before that rule must still
# give working links, and reverse() percent-encodes the rest ('#', '?', spaces).
urlpatterns = [
    path("", views.home, name="home"),
    path("studies/new/", views.study_new, name="study_new"),
    path("s/<slug:slug>/", views.study_overview, name="study_overview"),
    path("s/<slug:slug>/setup/", views.study_setup, name="study_setup"),
    path("s/<slug:slug>/setup/animals/", views.study_add_animals, name="study_add_animals"),
    path("s/<slug:slug>/setup/allocation/", views.study_allocation, name="study_allocation"),
    path("s/<slug:slug>/cage-cards/", cage_views.cage_card_sheet, name="cage_cards"),
    path("s/<slug:slug>/scan/cage/<path:cage>/", cage_views.scan_cage, name="scan_cage"),
    path("s/<slug:slug>/scan/animal/<path:code>/", cage_views.scan_animal, name="scan_animal"),
    path("s/<slug:slug>/unblind/", views.study_unblind, name="study_unblind"),
    path("s/<slug:slug>/planning/", planning_views.study_planning, name="study_planning"),
    path(
        "s/<slug:slug>/planning/<id:pk>/",
        planning_views.study_planning_plan,
        name="study_planning_plan",
    ),
    path(
        "s/<slug:slug>/planning/<id:pk>/progress/",
        planning_views.study_planning_progress,
        name="study_planning_progress",
    ),
    path("s/<slug:slug>/history/animal/<path:code>/", views.animal_history, name="animal_history"),
    path("s/<slug:slug>/history/session/<id:pk>/", views.session_history, name="session_history"),
    path(
        "s/<slug:slug>/timepoints/<path:label>/sign-off/",
        views.timepoint_signoff,
        name="timepoint_signoff",
    ),
    re_path(
        r"^s/(?P<slug>[-\w]+)/setup/(?P<section>groups|phases|timepoints)/$",
        views.study_setup_rows,
        name="study_setup_rows",
    ),
    # Browsers ask for /favicon.ico whatever the page links to.
    path("favicon.ico", views.favicon, name="favicon"),
]
