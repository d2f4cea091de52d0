"""What accounts.tokens ends reaches open sockets: revoking a token closes the sockets of the
tokens it created; logging out everywhere closes every socket of the user, of every session
and every token, and none of anyone else's. Sockets open through the whole ASGI application,
as in tests/chat/test_socket_access.py, whose helpers these are."""

from typing import Any

import pytest
from channels.db import database_sync_to_async as in_thread

from accounts.models import AccessToken, User
from accounts.tokens import Origin, token_create
from chat.models import Room
from tests.chat.test_socket_access import (
    CLOSE_ACCESS_REVOKED,
    CLOSE_UNAUTHENTICATED,
    Browser,
    bearer,
    close_code,
    open_socket,
    refused_code,
    still_served,
)
from tests.factories import PASSWORD, make_room

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def lobby(alice: User, bob: User) -> Room:
    return make_room(name="Lobby", members=[alice, bob])


def made_by(parent: AccessToken, name: str) -> str:
    """A token as another token could create one before that was refused; its plain text."""
    token, plain = token_create(parent.user, name=name)
    AccessToken.objects.filter(pk=token.pk).update(created_via=Origin.TOKEN, created_by=parent)
    return plain


async def test_revoking_a_token_closes_the_sockets_of_the_tokens_it_created(
    alice: User, lobby: Room
) -> None:
    parent, parent_plain = await in_thread(token_create)(alice, name="one day")
    child_plain = await in_thread(made_by)(parent, "forever")
    _, other_plain = await in_thread(token_create)(alice, name="unrelated")
    child_socket = await open_socket(bearer(child_plain))
    other_socket = await open_socket(bearer(other_plain))
    browser = await in_thread(Browser)(alice)

    response = await in_thread(browser.client.post)("/accounts/tokens/", {"revoke": parent.pk})

    assert response.status_code == 200
    assert await close_code(child_socket) == CLOSE_ACCESS_REVOKED
    assert await refused_code(bearer(child_plain)) == CLOSE_UNAUTHENTICATED
    assert await refused_code(bearer(parent_plain)) == CLOSE_UNAUTHENTICATED
    await still_served(other_socket, lobby, "the unrelated token carries on")
    await other_socket.disconnect()


async def test_logging_out_everywhere_closes_every_socket_of_the_user_and_no_one_elses(
    alice: User, bob: User, lobby: Room
) -> None:
    laptop, phone = await in_thread(Browser)(alice), await in_thread(Browser)(alice)
    _, plain = await in_thread(token_create)(alice, name="bot")
    _, bobs_plain = await in_thread(token_create)(bob, name="bob's bot")
    phone_tab = await open_socket(phone.headers())
    token_socket = await open_socket(bearer(plain))
    bobs_socket = await open_socket(bearer(bobs_plain))

    response = await in_thread(laptop.client.post)(
        "/accounts/tokens/", {"logout_everywhere": "1", "password": PASSWORD}
    )

    assert response.status_code == 200
    assert await close_code(phone_tab) == CLOSE_ACCESS_REVOKED
    assert await close_code(token_socket) == CLOSE_ACCESS_REVOKED
    assert await refused_code(phone.headers()) == CLOSE_UNAUTHENTICATED
    assert await refused_code(bearer(plain)) == CLOSE_UNAUTHENTICATED
    # The laptop stays logged in, under its new session key.
    laptop_tab = await open_socket(laptop.headers())
    await still_served(laptop_tab, lobby, "still logged in here")
    await still_served(bobs_socket, lobby, "bob is not affected")
    await laptop_tab.disconnect()
    await bobs_socket.disconnect()


async def test_logging_out_everywhere_through_the_api_closes_the_sockets_too(
    alice: User, lobby: Room
) -> None:
    laptop, phone = await in_thread(Browser)(alice), await in_thread(Browser)(alice)
    _, plain = await in_thread(token_create)(alice, name="bot")
    phone_tab = await open_socket(phone.headers())
    token_socket = await open_socket(bearer(plain))

    response = await in_thread(laptop.client.post)(
        "/api/v1/me/logout-everywhere", {"password": PASSWORD}, content_type="application/json"
    )

    assert response.status_code == 200
    assert await close_code(phone_tab) == CLOSE_ACCESS_REVOKED
    assert await close_code(token_socket) == CLOSE_ACCESS_REVOKED
