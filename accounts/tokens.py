"""Personal access tokens: create, revoke, list, and find the user a token belongs to.

A token reads `parley_<lookup>_<secret>`. The lookup finds the row; the secret is checked
against its SHA-256 hash in constant time. The plain token is returned once, at creation.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import AccessToken, User
from accounts.signals import access_revoked
from core.errors import InvalidInput, TokenNotFound

PREFIX = "parley"
MAX_TOKENS_PER_USER = 50
MAX_LIFETIME_DAYS = 366


def _usable() -> Q:
    return Q(revoked_at=None) & (Q(expires_at=None) | Q(expires_at__gt=timezone.now()))


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(
    user: User, *, name: object, expires_in_days: object = None
) -> tuple[AccessToken, str]:
    """A new token for `user`, and its plain text (shown once, never stored).

    `expires_in_days` of None makes a token that is valid until revoked.
    """
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 80:
        raise InvalidInput("A token needs a name of 1 to 80 characters.", field="name")
    if expires_in_days is not None and (
        isinstance(expires_in_days, bool)
        or not isinstance(expires_in_days, int)
        or not 1 <= expires_in_days <= MAX_LIFETIME_DAYS
    ):
        raise InvalidInput(
            f"'expires_in_days' must be a whole number of days from 1 to {MAX_LIFETIME_DAYS}.",
            field="expires_in_days",
        )
    expires_at = None if expires_in_days is None else timezone.now() + timedelta(expires_in_days)
    with transaction.atomic():
        active = AccessToken.objects.select_for_update().filter(_usable(), user=user)
        if active.count() >= MAX_TOKENS_PER_USER:
            raise InvalidInput(f"At most {MAX_TOKENS_PER_USER} active tokens per user.")
        lookup = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        token = AccessToken.objects.create(
            user=user,
            name=name.strip(),
            lookup=lookup,
            secret_hash=_hash(secret),
            expires_at=expires_at,
        )
    return token, f"{PREFIX}_{lookup}_{secret}"


def token_revoke(user: User, *, token_id: object) -> AccessToken:
    """Revoke one of the user's tokens, closing the sockets opened with it; twice is fine."""
    if isinstance(token_id, bool) or not isinstance(token_id, int):
        raise TokenNotFound()
    with transaction.atomic():
        token = AccessToken.objects.select_for_update().filter(pk=token_id, user=user).first()
        if token is None:
            raise TokenNotFound()
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            access_revoked.send(sender=User, user_id=user.pk, token_id=token.pk)
    return token


def tokens_of_user(user: User) -> QuerySet[AccessToken]:
    return AccessToken.objects.filter(user=user).order_by("-created_at")


def user_for_token(plain: str) -> User | None:
    """The active user a token belongs to; None if malformed, unknown, revoked or expired."""
    token = token_for_plain(plain)
    return None if token is None else token.user


def token_for_plain(plain: str) -> AccessToken | None:
    """The usable token of an active user that `plain` is, with its user; None otherwise."""
    # The secret is URL-safe base64, which may itself contain "_": split off only the prefix
    # and the lookup.
    parts = plain.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    token = (
        AccessToken.objects.select_related("user")
        .filter(_usable(), lookup=parts[1], user__is_active=True)
        .first()
    )
    if token is None or not hmac.compare_digest(token.secret_hash, _hash(parts[2])):
        return None
    now = timezone.now()
    # Recording every use would be a write per request; a minute's precision is enough.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def token_is_usable(token_id: int, *, user_id: int) -> bool:
    """Whether a token of `user_id` is neither revoked nor expired, and its user active."""
    return AccessToken.objects.filter(
        _usable(), pk=token_id, user_id=user_id, user__is_active=True
    ).exists()


def bearer_token(header: str | None) -> str | None:
    """The token in an `Authorization: Bearer <token>` header; None if there is no header.

    Raises InvalidInput for a header of another form, so clients learn what went wrong.
    """
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip() or " " in value.strip():
        raise InvalidInput("Send the token as 'Authorization: Bearer <token>'.")
    return value.strip()
