from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import (
    AdminUserCreationForm,
    AuthenticationForm,
    PasswordChangeForm,
    UserCreationForm,
    UsernameField,
)
from django.core.exceptions import ValidationError
from django.views.decorators.debug import sensitive_variables

from accounts import usernames
from accounts.models import User
from accounts.profiles import DISPLAY_NAME_EMPTY, DISPLAY_NAME_MAX_LENGTH, display_name_clean
from accounts.throttle import PasswordAttempt, check_password_attempt
from accounts.tokens import password_confirm
from core.errors import InvalidInput, PasswordIncorrect, RateLimited


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


class DisplayNameField(forms.CharField):
    """A display name, cleaned by the one rule (accounts.profiles.display_name_clean); empty is
    left to `required`. The input is user text, so its direction comes from its own letters."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", DISPLAY_NAME_MAX_LENGTH)
        super().__init__(**kwargs)

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        return {**super().widget_attrs(widget), "dir": "auto"}

    def to_python(self, value: Any) -> str | None:
        text = super().to_python(value)
        if text in self.empty_values:
            return text
        try:
            return display_name_clean(text)
        except InvalidInput as problem:
            raise ValidationError(problem.message, code="display_name_invalid") from None


class SignUpForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("username", "display_name")
        # NFKC, as logging in does: "alice" in fullwidth letters (U+FF41 ...) is "alice".
        # The display name stays optional: without one, the username is shown.
        field_classes = {"username": UsernameField, "display_name": DisplayNameField}

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


class ProfileForm(forms.Form):
    """The profile page's display name; required there (signing up, it may be left empty)."""

    display_name = DisplayNameField(
        label="Display name",
        help_text="How others see you in rooms and conversations; your username stays.",
        error_messages={"required": DISPLAY_NAME_EMPTY},
    )


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


class ThrottledPasswordChangeForm(PasswordChangeForm):
    """Django's password change, whose old password is checked as the tokens page checks one
    (accounts.tokens.password_confirm): each guess counts against the account's log-in
    allowance, before hashing, and the stored hash is not upgraded on the way. `retry_after`
    is set when it refused."""

    retry_after: float | None = None

    @sensitive_variables("old_password")
    def clean_old_password(self) -> str:
        old_password: str = self.cleaned_data["old_password"]
        try:
            password_confirm(self.user, password=old_password)
        except RateLimited as refused:
            self.retry_after = refused.retry_after
            raise ValidationError(refused.message, code="too_many_attempts") from None
        except (PasswordIncorrect, InvalidInput):
            raise ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            ) from None
        return old_password
