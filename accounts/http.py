"""The type of a request that authentication has already let through."""

from django.http import HttpRequest

from accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """For the type checker only: the request of a `login_required` view, whose user is a User.

    Views annotate their request with it; no request is ever constructed as one.
    """

    user: User
