from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import (
    AdminUserCreationForm,
    AuthenticationForm,
    UserCreationForm,
    UsernameField,
)
from django.core.exceptions import ValidationError

from accounts import usernames
from accounts.models import User
from accounts.throttle import PasswordAttempt, check_password_attempt
from core.errors import RateLimited


def check_new_username(username: str) -> str:
    """The rules for a username being created, after Django's own; ValidationError if not."""
    username = usernames.normalize(username)
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError("That username is taken.", code="username_taken")
    if usernames.look_alike_of_existing(username) is not None:
        raise ValidationError(
            "That username looks too much like an existing one; please choose another.",
            code="username_confusable",
        )
    if usernames.mixes_scripts(username):
        scripts = " and ".join(sorted(s.title() for s in usernames.scripts_of(username)))
        raise ValidationError(
            f"A username is written in one script; this one mixes {scripts} letters.",
            code="username_mixed_script",
        )
    return username


class SignUpForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("username", "display_name")
        # NFKC, as logging in does: "alice" in fullwidth letters (U+FF41 ...) is "alice".
        field_classes = {"username": UsernameField}

    def clean_username(self) -> str:
        username = super().clean_username()
        # Django's check records its own error, and returns None, for a name taken in any case.
        return check_new_username(username) if username else username


class ParleyAdminUserCreationForm(AdminUserCreationForm):
    """The admin's "add user" form, under the same username rules as signing up."""

    def clean_username(self) -> str:
        username = super().clean_username()
        # Django's check records its own error, and returns None, for a name taken in any case.
        return check_new_username(username) if username else username


class ThrottledAuthenticationForm(AuthenticationForm):
    """Log-in that counts each password guess (accounts.throttle) and refuses one over the
    limits before the password is hashed. `retry_after` is set when it refused."""

    retry_after: float | None = None

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        attempt: PasswordAttempt | None = None
        if username is not None and password:
            try:
                attempt = check_password_attempt(self.request, username)
            except RateLimited as refused:
                self.retry_after = refused.retry_after
                raise ValidationError(refused.message, code="too_many_attempts") from None
        cleaned = super().clean()
        # Reached only when the password was right and the account may log in here.
        if attempt is not None:
            attempt.succeeded()
        return cleaned


class ThrottledAdminAuthenticationForm(ThrottledAuthenticationForm, AdminAuthenticationForm):
    """The admin's log-in form (staff only), counted like the site's."""
