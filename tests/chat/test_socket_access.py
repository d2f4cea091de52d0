"""Ending access reaches open sockets (accounts.revocation, docs/protocol.md "Close codes").

Logging out closes that session's sockets with 4003 and no others; a new password closes the
sockets of all the user's sessions; deactivating or deleting an account closes all of the
user's; revoking a token, or its expiry, closes the sockets opened with that token; removing a
member takes the room off their sockets. A closed login cannot open a new socket. Sockets are
opened through the whole ASGI application (config.asgi), as a browser or an API client would.
"""

import json
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async as in_thread
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import AccessToken, User
from accounts.tokens import token_create
from chat.consumers.socket import ParleySocket
from chat.models import Room
from chat.services.messages import message_post
from chat.services.rooms import member_remove
from config.asgi import application
from tests.chat.test_admin import change_url, room_form
from tests.factories import UserFactory, make_room
from tests.socket_client import SocketClient

pytestmark = pytest.mark.django_db(transaction=True)

CLOSE_UNAUTHENTICATED = 4001
CLOSE_ACCESS_REVOKED = 4003
# Generous for a shared two-core machine; the event itself takes milliseconds.
CLOSE_WITHIN = 2.0


class Browser:
    """One logged-in browser session: a Django test client and the sockets it opens."""

    def __init__(self, user: User) -> None:
        self.client = Client()
        self.client.force_login(user)

    @property
    def session_key(self) -> str:
        return self.client.cookies[settings.SESSION_COOKIE_NAME].value

    def headers(self) -> list[tuple[bytes, bytes]]:
        cookie = f"{settings.SESSION_COOKIE_NAME}={self.session_key}"
        return [(b"cookie", cookie.encode()), (b"origin", b"http://localhost")]

    def log_out(self) -> None:
        response = self.client.post("/accounts/logout/")
        assert response.status_code == 302


async def open_socket(headers: list[tuple[bytes, bytes]]) -> WebsocketCommunicator:
    """A socket through the ASGI application, once its `hello` has arrived."""
    socket = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, _ = await socket.connect()
    assert connected
    while (await next_frame(socket))["type"] != "hello":
        pass
    return socket


async def next_frame(socket: WebsocketCommunicator, timeout: float = 3) -> dict[str, Any]:
    return json.loads(await socket.receive_from(timeout=timeout))


def bearer(plain: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {plain}".encode())]


async def close_code(socket: WebsocketCommunicator, timeout: float = CLOSE_WITHIN) -> int:
    """The code the server closes `socket` with, skipping frames sent before the close."""
    while True:
        output = await socket.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            return output["code"]


async def refused_code(headers: list[tuple[bytes, bytes]]) -> int:
    """The close code of a new socket with these credentials, which must send no `hello`."""
    socket = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, _ = await socket.connect()
    assert connected
    output = await socket.receive_output(timeout=3)
    assert output["type"] == "websocket.close", output
    return output["code"]


async def still_served(socket: WebsocketCommunicator, room: Room, body: str) -> None:
    """`socket` can post to `room` and hears its own message."""
    await socket.send_to(
        text_data=json.dumps(
            {"type": "message.send", "ref": body, "room": str(room.public_id), "body": body}
        )
    )
    seen: set[str] = set()
    while seen != {"ack", "message.new"}:
        frame = await next_frame(socket)
        if frame["type"] == "ack":
            assert frame["ref"] == body
            seen.add("ack")
        elif frame["type"] == "message.new" and frame["message"]["body"] == body:
            seen.add("message.new")


@pytest.fixture
def lobby(alice: User, bob: User) -> Room:
    return make_room(name="Lobby", members=[alice, bob])


async def test_logout_closes_that_sessions_sockets_and_not_the_users_other_sessions(
    alice: User, lobby: Room
) -> None:
    laptop, phone = await in_thread(Browser)(alice), await in_thread(Browser)(alice)
    laptop_tab1 = await open_socket(laptop.headers())
    laptop_tab2 = await open_socket(laptop.headers())
    phone_tab = await open_socket(phone.headers())

    await in_thread(laptop.log_out)()

    assert await close_code(laptop_tab1) == CLOSE_ACCESS_REVOKED
    assert await close_code(laptop_tab2) == CLOSE_ACCESS_REVOKED
    await still_served(phone_tab, lobby, "still here")
    await phone_tab.disconnect()


async def test_a_logged_out_session_cannot_open_a_socket_again(alice: User, lobby: Room) -> None:
    browser = await in_thread(Browser)(alice)
    headers = browser.headers()
    socket = await open_socket(headers)

    await in_thread(browser.log_out)()

    assert await close_code(socket) == CLOSE_ACCESS_REVOKED
    assert await refused_code(headers) == CLOSE_UNAUTHENTICATED


async def test_logout_leaves_the_users_token_sockets_open(alice: User, lobby: Room) -> None:
    browser = await in_thread(Browser)(alice)
    _, plain = await in_thread(token_create)(alice, name="bot")
    session_socket = await open_socket(browser.headers())
    token_socket = await open_socket(bearer(plain))

    await in_thread(browser.log_out)()

    assert await close_code(session_socket) == CLOSE_ACCESS_REVOKED
    await still_served(token_socket, lobby, "the bot carries on")
    await token_socket.disconnect()


async def test_deactivating_a_user_closes_every_socket_of_theirs(
    alice: User, bob: User, lobby: Room
) -> None:
    browser = await in_thread(Browser)(alice)
    _, plain = await in_thread(token_create)(alice, name="bot")
    alice_sockets = [await open_socket(browser.headers()), await open_socket(bearer(plain))]
    bob_browser = await in_thread(Browser)(bob)
    bob_tab = await open_socket(bob_browser.headers())

    def deactivate() -> None:
        # What the admin's user page does when "active" is unticked.
        alice.is_active = False
        alice.save()

    await in_thread(deactivate)()

    for socket in alice_sockets:
        assert await close_code(socket) == CLOSE_ACCESS_REVOKED
    await still_served(bob_tab, lobby, "alice went quiet")
    assert await refused_code(browser.headers()) == CLOSE_UNAUTHENTICATED
    assert await refused_code(bearer(plain)) == CLOSE_UNAUTHENTICATED
    await bob_tab.disconnect()


async def test_a_new_password_closes_every_session_socket_of_the_user_and_no_token_socket(
    alice: User, bob: User, lobby: Room
) -> None:
    laptop, phone = await in_thread(Browser)(alice), await in_thread(Browser)(alice)
    session_sockets = [await open_socket(laptop.headers()), await open_socket(phone.headers())]
    _, plain = await in_thread(token_create)(alice, name="bot")
    token_socket = await open_socket(bearer(plain))
    bob_tab = await open_socket((await in_thread(Browser)(bob)).headers())

    def new_password_in_the_admin() -> None:
        operator = Client()
        operator.force_login(UserFactory(is_staff=True, is_superuser=True))
        response = operator.post(
            f"/admin/accounts/user/{alice.pk}/password/",
            {"password1": "a whole new secret", "password2": "a whole new secret"},
        )
        assert response.status_code == 302, response.content

    await in_thread(new_password_in_the_admin)()

    for socket in session_sockets:
        assert await close_code(socket) == CLOSE_ACCESS_REVOKED
    assert await refused_code(laptop.headers()) == CLOSE_UNAUTHENTICATED
    await still_served(token_socket, lobby, "the bot carries on")
    await still_served(bob_tab, lobby, "bob carries on")
    await token_socket.disconnect()
    await bob_tab.disconnect()


async def test_saving_only_other_fields_of_an_active_user_closes_nothing(
    alice: User, lobby: Room
) -> None:
    browser = await in_thread(Browser)(alice)
    tab = await open_socket(browser.headers())

    def rename() -> None:
        alice.display_name = "Alice L."
        alice.save(update_fields=["display_name"])

    await in_thread(rename)()

    await still_served(tab, lobby, "renamed, not closed")
    await tab.disconnect()


async def test_deleting_a_user_closes_their_sockets(alice: User, lobby: Room) -> None:
    _, plain = await in_thread(token_create)(alice, name="bot")
    socket = await open_socket(bearer(plain))

    await in_thread(alice.delete)()

    assert await close_code(socket) == CLOSE_ACCESS_REVOKED


async def test_revoking_a_token_closes_only_the_sockets_opened_with_it(
    alice: User, lobby: Room
) -> None:
    revoked, revoked_plain = await in_thread(token_create)(alice, name="old bot")
    _, kept_plain = await in_thread(token_create)(alice, name="new bot")
    browser = await in_thread(Browser)(alice)
    revoked_socket = await open_socket(bearer(revoked_plain))
    kept_socket = await open_socket(bearer(kept_plain))
    session_socket = await open_socket(browser.headers())

    # Through the API, as a client revokes its old token with its new one.
    response = await in_thread(Client(headers={"Authorization": f"Bearer {kept_plain}"}).delete)(
        f"/api/v1/tokens/{revoked.pk}"
    )

    assert response.status_code == 200
    assert await close_code(revoked_socket) == CLOSE_ACCESS_REVOKED
    await still_served(kept_socket, lobby, "new bot here")
    await still_served(session_socket, lobby, "and the browser")
    assert await refused_code(bearer(revoked_plain)) == CLOSE_UNAUTHENTICATED
    await kept_socket.disconnect()
    await session_socket.disconnect()


async def test_revoking_a_token_on_the_tokens_page_closes_its_sockets(alice: User) -> None:
    token, plain = await in_thread(token_create)(alice, name="bot")
    browser = await in_thread(Browser)(alice)
    socket = await open_socket(bearer(plain))

    response = await in_thread(browser.client.post)("/accounts/tokens/", {"revoke": token.pk})

    assert response.status_code == 200
    assert await close_code(socket) == CLOSE_ACCESS_REVOKED


async def test_a_login_that_ends_while_the_socket_opens_is_refused(alice: User) -> None:
    def deactivate_quietly() -> None:
        # As if it happened after the handshake's check and before the socket joined the
        # user's group: the event went to nobody.
        User.objects.filter(pk=alice.pk).update(is_active=False)

    await in_thread(deactivate_quietly)()
    socket = WebsocketCommunicator(ParleySocket.as_asgi(), "/ws/")
    socket.scope["user"] = alice  # as the handshake found her: active

    connected, _ = await socket.connect()

    assert connected
    assert await socket.receive_output(timeout=3) == {
        "type": "websocket.close",
        "code": CLOSE_UNAUTHENTICATED,
    }


async def test_removing_a_member_takes_the_room_off_their_sockets(
    alice: User, bob: User, lobby: Room
) -> None:
    operator = await in_thread(UserFactory)(is_staff=True)
    tab1, tab2 = await SocketClient(bob).connect(), await SocketClient(bob).connect()

    await in_thread(member_remove)(operator, room=lobby, user=bob)

    for tab in (tab1, tab2):
        frames = await tab.receive_until(lambda f: f["type"] == "room.left", CLOSE_WITHIN)
        assert frames[-1]["room"] == str(lobby.public_id)
    await in_thread(message_post)(alice, room_id=lobby.public_id, body="bob is gone")
    assert await tab1.nothing_more(0.3)
    assert await tab2.nothing_more(0.1)
    await tab1.close()
    await tab2.close()


async def test_deleting_a_membership_in_the_admin_takes_the_room_off_their_sockets(
    alice: User, bob: User, lobby: Room
) -> None:
    operator = await in_thread(UserFactory)(is_staff=True, is_superuser=True)
    admin = await in_thread(Browser)(operator)
    data = await in_thread(room_form)(lobby)
    index = next(
        index
        for index in range(int(data["memberships-TOTAL_FORMS"]))
        if data[f"memberships-{index}-user"] == str(bob.pk)
    )
    data[f"memberships-{index}-DELETE"] = "on"
    tab = await SocketClient(bob).connect()

    response = await in_thread(admin.client.post)(change_url(lobby), data)

    assert response.status_code == 302
    frames = await tab.receive_until(lambda f: f["type"] == "room.left", CLOSE_WITHIN)
    assert frames[-1]["room"] == str(lobby.public_id)
    await in_thread(message_post)(alice, room_id=lobby.public_id, body="after the admin")
    assert await tab.nothing_more(0.3)
    await tab.close()


async def test_a_token_socket_closes_when_its_token_expires(alice: User, lobby: Room) -> None:
    def token_expiring_soon() -> str:
        token, plain = token_create(alice, name="short-lived", expires_in_days=1)
        AccessToken.objects.filter(pk=token.pk).update(
            expires_at=timezone.now() + timedelta(seconds=1.5)
        )
        return plain

    plain = await in_thread(token_expiring_soon)()
    _, other_plain = await in_thread(token_create)(alice, name="long-lived")
    socket = await open_socket(bearer(plain))
    other = await open_socket(bearer(other_plain))

    assert await close_code(socket, timeout=1.5 + CLOSE_WITHIN) == CLOSE_ACCESS_REVOKED
    await still_served(other, lobby, "the other token carries on")
    assert await refused_code(bearer(plain)) == CLOSE_UNAUTHENTICATED
    await other.disconnect()
