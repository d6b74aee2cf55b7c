from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from labstudy import account_views, errors, member_views, views

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
    path("s/<slug:slug>/unblind/", views.study_unblind, name="study_unblind"),
    path("s/<slug:slug>/people/", member_views.study_members, name="study_members"),
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
    path("s/<slug:slug>/", include("sessions.urls")),
    path("s/<slug:slug>/", include("animals.urls")),
    path("s/<slug:slug>/", include("analysis.urls")),
    path("s/<slug:slug>/", include("analysis.export_urls")),
    path("admin/", admin.site.urls),
    # Before Django's own auth URLs, so sign-out also clears the tablet (same URL name).
    path("accounts/logout/", account_views.sign_out, name="logout"),
    path("accounts/login/", errors.LoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    # Browsers ask for /favicon.ico whatever the page links to.
    path("favicon.ico", views.favicon, name="favicon"),
]

handler404 = "labstudy.errors.page_not_found"
handler403 = "labstudy.errors.permission_denied"

if settings.LABSTUDY_BENCH:  # benchmarks only; see bench/bench_tap.py
    from labstudy.bench_baseline import bench_baseline

    urlpatterns.append(path("bench-baseline/", bench_baseline, name="bench_baseline"))
