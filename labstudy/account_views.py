"""Signing out on a shared bench tablet: Django's sign-out, plus clearing what the site
kept on the device.

Every sign-out answers with `Clear-Site-Data: "cache"` (the browser's HTTP cache). The
device's storage (the bench's offline page cache, its service worker and the tap queue in
localStorage) is cleared with `"storage"` only when the page said nothing is waiting in
it: static/js/offline-data.js checks the tap queue before the form is sent and sets
`offline_data=clear`. A sign-out without that word (no JavaScript, or taps still waiting
to sync) keeps the storage, because clearing it would lose taps the server has never
seen; the script then empties the cached bench pages itself. Taps are never lost here.

Must not: sign anyone out on a GET (Django's LogoutView is POST-only), or clear storage
unless the page vouched that nothing is waiting.
"""

from django.contrib.auth.views import LogoutView
from django.http import HttpRequest, HttpResponse

CLEAR_ALL = '"cache", "storage"'
CLEAR_CACHE = '"cache"'


class SignOutView(LogoutView):
    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        nothing_waiting = request.POST.get("offline_data") == "clear"
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = CLEAR_ALL if nothing_waiting else CLEAR_CACHE
        return response


sign_out = SignOutView.as_view()
