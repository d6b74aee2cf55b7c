"""Login throttling with two limits: per username from one address, and per address.

django-axes counts failed sign-ins and compares them with one failure limit. Its own
rule here is the pair: AXES_FAILURE_LIMIT (5) failures for one username from one address
lock that pair for AXES_COOLOFF_TIME. On its own that lets one address try 4 passwords on
every username in the lab, so this handler adds a second, higher limit counted by address
alone: LABSTUDY_LOGIN_ADDRESS_FAILURE_LIMIT (20) failures from one address within the
cool-off, whatever the usernames, lock that address for everyone signing in from it.

The address is axes's (`request.axes_ip_address`), which comes from
`labstudy.client_ip.client_ip` and so honours LABSTUDY_PROXY_COUNT. The counts are the
rows axes already stores (AccessAttempt); nothing else is recorded. A successful sign-in
resets only its own username's failures, so an attacker cannot clear the address count
by signing in to an account of their own.

Must not: lock anything axes would not count (whitelists, the admin-only switch), or
decide who may see a study (labstudy/access.py does).
"""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest


def address_failures(request: HttpRequest) -> int:
    """Failed sign-ins from this request's client address within the cool-off."""
    address = getattr(request, "axes_ip_address", None)
    if not address:
        return 0
    total = AccessAttempt.objects.filter(
        ip_address=address, attempt_time__gte=get_cool_off_threshold(request)
    ).aggregate(total=Sum("failures_since_start"))["total"]
    return total or 0


class AddressThrottleHandler(AxesDatabaseHandler):
    """axes's database handler, where an address over its own limit counts as locked."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        failures = super().get_failures(request, credentials)
        if address_failures(request) >= settings.LABSTUDY_LOGIN_ADDRESS_FAILURE_LIMIT:
            # Read by the lockout page, which then says the whole address is paused.
            request.labstudy_address_locked = True
            return max(failures, get_failure_limit(request, credentials))
        return failures
