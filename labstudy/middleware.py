"""Study membership, enforced once for every URL that names a study.

Any view whose URL has a `slug` is a study URL. A signed-in user who is not a member
gets 404 before the view runs, whatever the method, so neither a 405 nor a form error
reveals that the study exists. Anonymous users pass through to the view's
login_required redirect. The access found here is reused by the view's own
`study_access` call (cached on the request's user), so the check costs no query.
"""

from labstudy.access import study_access


class StudyMembershipMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        slug = view_kwargs.get("slug")
        if slug is None or not request.user.is_authenticated:
            return None
        if request.path.startswith("/admin/"):
            return None
        study_access(request.user, slug)  # raises Http404 for non-members
        return None
