"""People: the user directory (a prefix search, paged) and one user's profile, with presence.

Any logged-in user may find any active user by name, as the web UI's "start a conversation"
lets them; deactivated accounts are never listed and are not found, like missing ones.
"""

import re
from typing import Any

from django.db.models import Q
from django.db.models.functions import Lower

from accounts.models import User
from chat import wire
from chat.realtime import presence
from chat.selectors.paging import Page, keyset_page
from core.errors import InvalidInput, UserNotFound

# As long as a username may be.
QUERY_MAX_LENGTH = 150
# What no stored name holds and PostgreSQL refuses in a parameter (NUL), or cannot encode.
_UNSEARCHABLE = re.compile("[\x00\ud800-\udfff]")


def users_directory(
    user: User, *, query: object = None, cursor: object = None, limit: object = None
) -> Page[dict[str, Any]]:
    """Active users whose username or display name starts with `query` (any case; blank: all),
    by username regardless of case, each as chat.wire shows them plus `online`.

    InvalidInput for a bad query, cursor or limit. Synchronous (the presence store is asked
    with its blocking client): from async code, call it in a worker thread.
    """
    prefix = _clean_query(query)
    users = User.objects.filter(is_active=True)
    if not user.is_active:
        users = users.none()
    if prefix:
        # istartswith escapes %, _ and \ itself: what is typed is matched literally.
        users = users.filter(Q(username__istartswith=prefix) | Q(display_name__istartswith=prefix))
    page = keyset_page(
        users,
        order={"username_key": Lower("username")},
        list_name="users",
        cursor=cursor,
        limit=limit,
    )
    online = presence.online_now([listed.pk for listed in page.rows])
    rows = [{**wire.user_data(listed), "online": listed.pk in online} for listed in page.rows]
    return Page(rows=rows, next_cursor=page.next_cursor)


def user_profile(user: User, *, username: object) -> dict[str, Any]:
    """The active user of that name (any case) as chat.wire shows them, with `online` and
    `date_joined`; UserNotFound for anything else, a deactivated account included."""
    found = _active_user(username) if user.is_active else None
    if found is None:
        raise UserNotFound()
    return {
        **wire.user_data(found),
        "online": bool(presence.online_now([found.pk])),
        "date_joined": found.date_joined.isoformat(),
    }


def _active_user(username: object) -> User | None:
    # A name no account can have is simply not found: the answer never says why.
    if not isinstance(username, str) or not username or len(username) > QUERY_MAX_LENGTH:
        return None
    if _UNSEARCHABLE.search(username):
        return None
    return User.objects.filter(username__iexact=username, is_active=True).first()


def _clean_query(query: object) -> str:
    """The prefix to look for, trimmed ("" for all), else InvalidInput."""
    if query is None:
        return ""
    if not isinstance(query, str):
        raise InvalidInput("'q' must be text.", field="q")
    if len(query) > QUERY_MAX_LENGTH:
        raise InvalidInput(f"'q' may be at most {QUERY_MAX_LENGTH} characters.", field="q")
    if _UNSEARCHABLE.search(query):
        raise InvalidInput("'q' contains characters no name has.", field="q")
    return query.strip()
