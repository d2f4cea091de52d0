"""Ending access reaches open sockets: logging out, deactivating or deleting an account.

A socket checks its login only at the handshake, so whatever ends a login also tells the
user's sockets (the `access_revoked` signal, which chat turns into an event to the user's
sockets in every process).
A logout closes the sockets of that session only; a new password (from the admin, or Django
upgrading the hash at a login) those of every session, not the token sockets; deactivation and
deletion close them all.
Revoking a token is a service (accounts.tokens.token_revoke) and sends the signal there. Bulk
`QuerySet.update(is_active=False)` sends no signal and so closes nothing.
"""

import hashlib
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from accounts.models import User
from accounts.signals import access_revoked
from accounts.tokens import token_is_usable


def session_fingerprint(session_key: str) -> str:
    """What identifies a session in events: not the key itself, which is a credential."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:32]


def access_is_current(user_id: int, *, session_key: str | None, token_id: int | None) -> bool:
    """Whether the user is active and the session or token a socket was opened with is valid.

    For the moment between the handshake's check and the socket hearing revocations. A session
    must still exist and still carry the user's session hash, as Django's own check at each
    request demands: a new password or "log out everywhere" changes the hash and leaves the
    session row in place.
    """
    if token_id is not None:
        return token_is_usable(token_id, user_id=user_id)  # the user's state too, in one query
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    if session_key is None:
        return True
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    stored = session.get(HASH_SESSION_KEY)  # an empty dict when the session is gone
    if not isinstance(stored, str):
        return False
    current = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    return any(constant_time_compare(stored, expected) for expected in current)


@receiver(user_logged_out, dispatch_uid="parley_close_session_sockets")
def _close_sockets_of_session(
    sender: Any, request: HttpRequest, user: User | None, **kwargs: Any
) -> None:
    session_key = request.session.session_key
    if user is not None and session_key:
        access_revoked.send(sender=User, user_id=user.pk, session=session_fingerprint(session_key))


@receiver(post_save, sender=User, dispatch_uid="parley_close_sockets_of_inactive_user")
def _close_sockets_of_inactive_user(
    sender: Any, instance: User, update_fields: frozenset[str] | None = None, **kwargs: Any
) -> None:
    if update_fields is not None and "is_active" not in update_fields:
        return
    if not instance.is_active:
        access_revoked.send(sender=User, user_id=instance.pk)


@receiver(post_save, sender=User, dispatch_uid="parley_close_session_sockets_of_new_password")
def _close_session_sockets_of_new_password(
    sender: Any, instance: User, created: bool, **kwargs: Any
) -> None:
    if getattr(instance, "password_replaced", False):
        instance.password_replaced = False
        if not created:
            access_revoked.send(sender=User, user_id=instance.pk, every_session=True)


@receiver(post_delete, sender=User, dispatch_uid="parley_close_sockets_of_deleted_user")
def _close_sockets_of_deleted_user(sender: Any, instance: User, **kwargs: Any) -> None:
    access_revoked.send(sender=User, user_id=instance.pk)
