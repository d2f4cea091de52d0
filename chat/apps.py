from typing import Any

from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from accounts.signals import access_revoked, profile_changed

        access_revoked.connect(_close_sockets_of_login, dispatch_uid="parley_chat_access_revoked")
        profile_changed.connect(_refresh_sockets_of_user, dispatch_uid="parley_chat_profile")


def _refresh_sockets_of_user(sender: Any, *, user_id: int, **kwargs: Any) -> None:
    """How a user is shown changed (accounts.signals): their sockets read it again."""
    from chat.realtime import publish

    publish.profile_changed(user_id)


def _close_sockets_of_login(
    sender: Any,
    *,
    user_id: int,
    session: str | None = None,
    token_id: int | None = None,
    every_session: bool = False,
    **kwargs: Any,
) -> None:
    """A login ended (accounts.signals): the sockets opened with it close, after commit."""
    from chat.realtime import publish

    publish.access_revoked(user_id, session=session, token_id=token_id, every_session=every_session)
