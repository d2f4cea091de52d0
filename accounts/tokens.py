"""Personal access tokens: create, revoke, list, and find the user a token belongs to; and
"log out everywhere", which ends every token and session of a user at once.

A token reads `parley_<lookup>_<secret>`. The lookup finds the row; the secret is checked
against its SHA-256 hash in constant time. The plain token is returned once, at creation.

Creating a token or logging out everywhere asks how the caller authenticated (`via`): an
access token may do neither (SessionRequired), so a leaked token cannot turn itself into
lasting access; a session must give the password again (password_confirm), so a borrowed
browser cannot either.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.contrib.auth.hashers import check_password
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from accounts.models import AccessToken, User
from accounts.signals import access_revoked
from accounts.throttle import check_password_attempt
from core.errors import InvalidInput, PasswordIncorrect, SessionRequired, TokenNotFound

PREFIX = "parley"
MAX_TOKENS_PER_USER = 50
MAX_LIFETIME_DAYS = 366

Origin = AccessToken.Origin


def _usable() -> Q:
    return Q(revoked_at=None) & (Q(expires_at=None) | Q(expires_at__gt=timezone.now()))


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def password_confirm(user: User, *, password: object) -> None:
    """Raise unless `password` is the user's: the one check before acts a session alone may
    not do. Guesses count against the account's log-in allowance (accounts.throttle), checked
    before the hash is computed, so a stolen session cannot guess the password faster than
    the log-in page allows."""
    if not isinstance(password, str) or not password:
        raise InvalidInput("Type your password again to confirm.", field="password")
    attempt = check_password_attempt(None, user.username)
    # Not user.check_password: that upgrades an outdated hash, and a new hash would end the
    # user's sessions (this one included) in the middle of a confirmation.
    if not check_password(password, user.password):
        raise PasswordIncorrect()
    attempt.succeeded()


def _require_session_with_password(
    user: User, *, via: object, password: object, refusal: str
) -> None:
    """The gate of what only the user at a logged-in session may do; server code passes."""
    if via == Origin.TOKEN:
        # Before the password is looked at, so a token cannot be used to guess it.
        raise SessionRequired(refusal)
    if via == Origin.SESSION:
        password_confirm(user, password=password)
    elif via != Origin.SERVER:
        raise ValueError(f"Not a way to authenticate: {via!r}")


def token_create(
    user: User,
    *,
    name: object,
    expires_in_days: object = None,
    via: Origin = Origin.SERVER,
    password: object = None,
) -> tuple[AccessToken, str]:
    """A new token for `user`, and its plain text (shown once, never stored).

    `expires_in_days` of None makes a token that is valid until revoked. `via` is how the
    caller authenticated, and every entry point passes its own: Origin.SESSION (the tokens
    page, the API with a session cookie) needs `password`, the user's password typed again
    (InvalidInput without it, PasswordIncorrect when wrong); Origin.TOKEN (the API with a
    bearer token) is refused with SessionRequired, whatever the lifetime asked for;
    Origin.SERVER, the default, is code on the server (a shell, a script, a test), trusted as
    the database it writes to is. A refused request creates nothing.
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
    _require_session_with_password(
        user,
        via=via,
        password=password,
        refusal="An access token cannot create tokens: create one on the tokens page, or "
        "through the API with a logged-in session and your password.",
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
            created_via=via,
        )
    return token, f"{PREFIX}_{lookup}_{secret}"


def token_revoke(user: User, *, token_id: object) -> AccessToken:
    """Revoke one of the user's tokens and every token it created, at any depth, closing the
    sockets opened with each; twice is fine (and revokes children still active)."""
    if isinstance(token_id, bool) or not isinstance(token_id, int):
        raise TokenNotFound()
    with transaction.atomic():
        token = AccessToken.objects.select_for_update().filter(pk=token_id, user=user).first()
        if token is None:
            raise TokenNotFound()
        _revoke(user, _with_descendants(user, token.pk))
        token.refresh_from_db(fields=["revoked_at"])
    return token


def _with_descendants(user: User, token_id: int) -> list[int]:
    """The ids of the token and of the tokens it created, theirs, and so on."""
    found = [token_id]
    level = [token_id]
    while level:
        level = list(
            AccessToken.objects.filter(user=user, created_by__in=level)
            .exclude(pk__in=found)  # a cycle can only be written by hand, but must not loop
            .values_list("pk", flat=True)
        )
        found += level
    return found


def _revoke(user: User, token_ids: list[int]) -> None:
    """Revoke those of the tokens not yet revoked, announcing each.

    Call inside `transaction.atomic`.
    """
    revoking = list(
        AccessToken.objects.select_for_update()
        .filter(user=user, pk__in=token_ids, revoked_at=None)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    AccessToken.objects.filter(pk__in=revoking).update(revoked_at=timezone.now())
    for token_id in revoking:
        access_revoked.send(sender=User, user_id=user.pk, token_id=token_id)


def access_revoke_all(user: User, *, via: Origin, password: object = None) -> int:
    """Log out everywhere: revoke every token of `user` and end every session; the number of
    tokens revoked.

    `via` and `password` are checked as for token_create (a token is refused). Sessions end
    through User.session_generation, which `user` gets in place: a caller that keeps its own
    session (the page and the API do) calls update_session_auth_hash(request, user) next,
    which also gives that session a new key. Every socket of the user closes.
    """
    _require_session_with_password(
        user,
        via=via,
        password=password,
        refusal="An access token cannot log out everywhere: revoke the token itself, or log "
        "out everywhere on the tokens page or with a logged-in session and your password.",
    )
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
        user.refresh_from_db(fields=["session_generation"])
        revoked = AccessToken.objects.filter(_usable(), user=user).update(revoked_at=timezone.now())
        # With neither a session nor a token named: every socket of the user, of either kind.
        access_revoked.send(sender=User, user_id=user.pk)
    return revoked


def tokens_of_user(user: User) -> QuerySet[AccessToken]:
    return (
        AccessToken.objects.filter(user=user).select_related("created_by").order_by("-created_at")
    )


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
