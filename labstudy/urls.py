from django.contrib import admin
from django.urls import include, path

from labstudy import account_views, errors, member_views

# The pages that gather several apps (home, overview, set-up, history) are front.urls,
# included by name so the study core imports nothing above it.
urlpatterns = [
    path("", include("front.urls")),
    path("", include("lan.urls")),
    path("s/<slug:slug>/people/", member_views.study_members, name="study_members"),
    path("s/<slug:slug>/", include("sessions.urls")),
    path("s/<slug:slug>/", include("animals.urls")),
    path("s/<slug:slug>/", include("analysis.urls")),
    path("s/<slug:slug>/", include("analysis.export_urls")),
    path("admin/", admin.site.urls),
    # Before Django's own auth URLs, so sign-out also clears the tablet (same URL name).
    path("accounts/logout/", account_views.sign_out, name="logout"),
    path("accounts/login/", errors.LoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
]

handler404 = "labstudy.errors.page_not_found"
handler403 = "labstudy.errors.permission_denied"
