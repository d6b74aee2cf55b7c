"""Pages for when something cannot be shown: not found (404), not allowed (403), a form
sent with an out-of-date session (CSRF failure), and why the sign-in page appeared.

Each says the likely cause in lab words and where to go next; none discloses whether a
study the person is not a member of exists (a study page someone may not open is a 404,
as labstudy.access decides).
"""

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

_STUDY_PATH = re.compile(r"^/s/[-\w]+/")


def _reason(exception) -> str:
    """The message our views raise ("This page is not available to your role."), not
    Django's internals ("No Study matches the given query.", "Resolver404")."""
    message = exception.args[0] if exception is not None and exception.args else ""
    if not isinstance(message, str) or "matches the given query" in message:
        return ""
    return message if message.endswith(".") else ""


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    context = {
        "in_study": bool(_STUDY_PATH.match(request.path)),
        "reason": _reason(exception),
        "request_path": request.path,
    }
    return render(request, "404.html", context, status=404)


def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "403.html", {"reason": _reason(exception)}, status=403)


def _same_site_path(request: HttpRequest, url: str) -> str:
    """`url` as a local path when it points into this site, else ""."""
    if not url or not url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return ""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent from a page whose session has ended: nothing was saved; back to it."""
    form_page = _same_site_path(request, request.META.get("HTTP_REFERER", ""))
    login_url = reverse(settings.LOGIN_URL)
    if form_page:
        login_url += "?" + urlencode({"next": form_page})
    context = {
        "form_page": form_page,
        "login_url": login_url,
        "signed_in": request.user.is_authenticated,
    }
    return render(request, "403_csrf.html", context, status=403)


class LoginView(auth_views.LoginView):
    """The sign-in page, saying why it appeared when it stands in for another page."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        wanted = self.request.GET.get(self.redirect_field_name, "")
        if wanted and wanted != reverse("home"):
            cookies = self.request.COOKIES
            context["signed_out"] = (
                settings.SESSION_COOKIE_NAME in cookies or settings.CSRF_COOKIE_NAME in cookies
            )
            context["asked_for"] = wanted
        return context
