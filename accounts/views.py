from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters

from accounts.forms import SignUpForm
from accounts.http import AuthenticatedHttpRequest
from accounts.models import AccessToken
from accounts.tokens import access_revoke_all, token_create, token_revoke, tokens_of_user
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


@sensitive_post_parameters("password")
@login_required
def tokens(request: AuthenticatedHttpRequest) -> HttpResponse:
    """List, create and revoke personal access tokens, and log out everywhere else. A new token
    is shown once, here. Creating a token and logging out everywhere ask for the password."""
    new_token = None
    error = None
    logged_out_everywhere = None
    if request.method == "POST":
        try:
            if "revoke" in request.POST:
                token_revoke(request.user, token_id=int(request.POST["revoke"]))
            elif "logout_everywhere" in request.POST:
                logged_out_everywhere = access_revoke_all(
                    request.user,
                    via=AccessToken.Origin.SESSION,
                    password=request.POST.get("password", ""),
                )
                # This session stays, under a new key; the others fail the new hash.
                update_session_auth_hash(request, request.user)
            else:
                lifetime = request.POST.get("expires_in_days") or None
                _, new_token = token_create(
                    request.user,
                    name=request.POST.get("name", ""),
                    expires_in_days=int(lifetime) if lifetime else None,
                    via=AccessToken.Origin.SESSION,
                    password=request.POST.get("password", ""),
                )
        except (ParleyError, ValueError) as problem:
            error = getattr(problem, "message", "That form was not filled in correctly.")
    return render(
        request,
        "accounts/tokens.html",
        {
            "tokens": tokens_of_user(request.user),
            "new_token": new_token,
            "error": error,
            "logged_out_everywhere": logged_out_everywhere,
        },
    )
