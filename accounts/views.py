import re

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters

from accounts.avatars import avatar_remove, avatar_set
from accounts.forms import (
    ProfileForm,
    SignUpForm,
    ThrottledAuthenticationForm,
    ThrottledPasswordChangeForm,
)
from accounts.http import AuthenticatedHttpRequest
from accounts.models import AccessToken, User
from accounts.profiles import profile_update
from accounts.throttle import check_sign_up, retry_seconds
from accounts.tokens import access_revoke_all, token_create, token_revoke, tokens_of_user
from core.errors import InvalidInput, ParleyError, RateLimited


def _too_many(response: HttpResponse, retry_after: float) -> HttpResponse:
    """The page, refused: 429 and when to come back."""
    response.status_code = 429
    response["Retry-After"] = str(retry_seconds(retry_after))
    return response


def refused_if_throttled(response: HttpResponse) -> HttpResponse:
    """A log-in page whose form was refused by accounts.throttle becomes a 429."""
    form = (getattr(response, "context_data", None) or {}).get("form")
    retry_after = getattr(form, "retry_after", None)
    return response if retry_after is None else _too_many(response, retry_after)


class LoginView(auth_views.LoginView):
    """Django's log-in, with password guesses limited (accounts.throttle)."""

    form_class = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        return refused_if_throttled(super().form_invalid(form))


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change, with guesses of the old password limited (accounts.throttle).

    The new password ends the user's other sessions (their session hash no longer matches)
    and closes the sockets of every session (accounts.revocation); Django's view then keeps
    this browser logged in, under a new session key. Access tokens stay valid.
    """

    form_class = ThrottledPasswordChangeForm

    def form_invalid(self, form: ThrottledPasswordChangeForm) -> HttpResponse:
        return refused_if_throttled(super().form_invalid(form))


def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin's log-in (its form is admin.site.login_form, set in config/urls.py), a 429
    when that form was refused."""
    return refused_if_throttled(admin.site.login(request))


@sensitive_post_parameters("password1", "password2")
def sign_up(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("chat:home")
    if not settings.PARLEY_SIGNUP_OPEN:
        return render(request, "accounts/sign_up.html", {"closed": True}, status=403)
    if request.method == "POST":
        try:
            # Before the form is checked: checking reads every username (the look-alike rule)
            # and saving hashes the password.
            check_sign_up(request)
        except RateLimited as refused:
            # Unbound, so that showing it checks nothing; what was typed (but the passwords)
            # stays in the fields.
            initial = {name: request.POST.get(name, "") for name in ("username", "display_name")}
            page = render(
                request,
                "accounts/sign_up.html",
                {"form": SignUpForm(initial=initial), "refusal": refused.message},
            )
            return _too_many(page, refused.retry_after)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("chat:home")
    return render(request, "accounts/sign_up.html", {"form": form})


@login_required
def profile(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The user's own profile: the username, shown; the display name and the picture, changed
    here; and the way to the password and the tokens."""
    form = ProfileForm(initial={"display_name": request.user.display_name})
    picture_error = None
    if request.method == "POST":
        try:
            if "avatar_remove" in request.POST:
                avatar_remove(request.user)
                messages.success(request, "Picture removed: others see your initials.")
                return redirect("profile")
            upload = request.FILES.get("avatar")
            if upload is not None:
                avatar_set(request.user, upload=upload)
                messages.success(request, "Picture saved.")
                return redirect("profile")
            if "avatar_upload" in request.POST:
                raise InvalidInput("Choose a picture first.", field="avatar")
        except InvalidInput as problem:
            picture_error = problem.message
        else:
            form = ProfileForm(request.POST)
            if form.is_valid():
                try:
                    profile_update(request.user, display_name=form.cleaned_data["display_name"])
                except InvalidInput as problem:
                    form.add_error("display_name", problem.message)
                else:
                    messages.success(request, "Display name saved.")
                    return redirect("profile")
    status = 400 if picture_error else 200
    context = {"form": form, "picture_error": picture_error}
    return render(request, "accounts/profile.html", context, status=status)


AVATAR_NAME = re.compile(r"[0-9a-f]{32}\.webp")


@login_required
def avatar(request: AuthenticatedHttpRequest, name: str) -> HttpResponseBase:
    """A profile picture, for anyone logged in (as names are). Its name is random and changes
    with the picture, so it may be cached for a year."""
    stored = f"{User._meta.get_field('avatar').upload_to}{name}"
    if not AVATAR_NAME.fullmatch(name) or not User.objects.filter(avatar=stored).exists():
        raise Http404("No such picture.")
    storage = User._meta.get_field("avatar").storage
    response = FileResponse(storage.open(stored), content_type="image/webp")
    response["Cache-Control"] = "private, max-age=31536000, immutable"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


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
