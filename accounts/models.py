from collections.abc import Iterator
from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

_SESSION_GENERATION_SALT = "parley.accounts.User.session_generation"


class CaseInsensitiveUserManager(UserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> "User":
        # Log-in finds users through this: "Alice" logs in as "alice".
        return self.get(username__iexact=username)


class User(AbstractUser):
    """A Parley account. Usernames are unique regardless of case ("Alice" is "alice")."""

    display_name = models.CharField(max_length=80, blank=True)
    # A square picture made by accounts.avatars (never the uploaded file itself); its name is
    # random, so its address says nothing and can be cached for ever.
    avatar = models.FileField(upload_to="avatars/", blank=True, editable=False)
    # Raised by "log out everywhere" (accounts.tokens.access_revoke_all): it is folded into
    # the session hash Django checks on every request, so one write ends every session.
    session_generation = models.PositiveIntegerField(default=0, editable=False)

    objects: ClassVar[CaseInsensitiveUserManager] = CaseInsensitiveUserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username

    @property
    def avatar_url(self) -> str | None:
        """Where the picture is served (accounts.views.avatar), or None without one."""
        if not self.avatar:
            return None
        return reverse("avatar", args=[self.avatar.name.rsplit("/", 1)[-1]])

    def set_password(self, raw_password: str | None) -> None:
        super().set_password(raw_password)
        # A new password hash ends every session of the user (Django checks each session
        # against it); once saved, accounts.revocation closes those sessions' sockets too.
        self.password_replaced = True

    def get_session_auth_hash(self) -> str:
        return self._with_session_generation(super().get_session_auth_hash(), settings.SECRET_KEY)

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        # Django derives one hash per SECRET_KEY_FALLBACKS entry, in that order; a session
        # signed before a key rotation must not outlive "log out everywhere" either.
        hashes = super().get_session_auth_fallback_hash()
        for base, secret in zip(hashes, settings.SECRET_KEY_FALLBACKS, strict=True):
            yield self._with_session_generation(base, secret)

    def _with_session_generation(self, base: str, secret: str | bytes) -> str:
        if self.session_generation == 0:
            return base  # Django's own hash: sessions from before the counter stay valid
        value = f"{base}:{self.session_generation}"
        return salted_hmac(
            _SESSION_GENERATION_SALT, value, secret=secret, algorithm="sha256"
        ).hexdigest()


class AccessToken(models.Model):
    """A personal access token for API clients and bots. Only a hash of the secret is stored."""

    class Origin(models.TextChoices):
        """How a token's creator proved who they were (accounts.tokens.token_create)."""

        SESSION = "session", "a logged-in session, password typed again"
        # Refused since tokens may no longer create tokens; rows from before keep the value.
        TOKEN = "token", "another access token"
        SERVER = "server", "code run on the server (a shell, a script)"
        UNKNOWN = "unknown", "before origins were recorded"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="access_tokens")
    name = models.CharField(max_length=80)
    # The public part of the token, to find it without scanning hashes.
    lookup = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    # None: valid until revoked.
    expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Rows that predate the field, or were written without the service, say "unknown".
    created_via = models.CharField(
        max_length=16, choices=Origin.choices, default=Origin.UNKNOWN, editable=False
    )
    # The token that created this one; revoking it revokes this one (accounts.tokens). RESTRICT:
    # deleting the creator alone would silently keep its children working, so it is refused
    # (revoke it instead); deleting the user deletes both.
    created_by = models.ForeignKey(
        "self",
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="created_tokens",
        editable=False,
    )

    def __str__(self) -> str:
        return f"{self.user}: {self.name}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired
