from typing import Any

from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from accounts.signals import access_revoked

        access_revoked.connect(_close_sockets_of_login, dispatch_uid="parley_chat_access_revoked")


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
