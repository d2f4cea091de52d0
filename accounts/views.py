from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters

from accounts.forms import SignUpForm
from accounts.http import AuthenticatedHttpRequest
from accounts.tokens import token_create, token_revoke, tokens_of_user
from core.errors import ParleyError


@sensitive_post_parameters("password1", "password2")
def sign_up(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("chat:home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("chat:home")
    return render(request, "accounts/sign_up.html", {"form": form})


@login_required
def tokens(request: AuthenticatedHttpRequest) -> HttpResponse:
    """List, create and revoke personal access tokens. A new token is shown once, here."""
    new_token = None
    error = None
    if request.method == "POST":
        try:
            if "revoke" in request.POST:
                token_revoke(request.user, token_id=int(request.POST["revoke"]))
            else:
                lifetime = request.POST.get("expires_in_days") or None
                _, new_token = token_create(
                    request.user,
                    name=request.POST.get("name", ""),
                    expires_in_days=int(lifetime) if lifetime else None,
                )
        except (ParleyError, ValueError) as problem:
            error = getattr(problem, "message", "That form was not filled in correctly.")
    return render(
        request,
        "accounts/tokens.html",
        {"tokens": tokens_of_user(request.user), "new_token": new_token, "error": error},
    )
