"""ops.security_headers and SecurityMiddleware: the headers on Parley's pages and API answers."""

from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tokens import token_create
from chat.services.messages import message_post
from tests.factories import PASSWORD, UserFactory, make_room

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, list[str]]:
    """The Content-Security-Policy of `response`, directive by directive."""
    directives: dict[str, list[str]] = {}
    for directive in response["Content-Security-Policy"].split(";"):
        name, *sources = directive.split()
        assert name not in directives, f"{name} given twice"
        directives[name] = sources
    return directives


class InlineCode(HTMLParser):
    """Collects whatever in a page a strict CSP would refuse to run or apply."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        # json_script's data blocks are never executed; any other bare <script> is code.
        data = attributes.get("type") == "application/json"
        if tag == "script" and "src" not in attributes and not data:
            self.found.append(f"inline <script {attrs}>")
        if tag == "style":
            self.found.append("inline <style>")
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on"):
                self.found.append(f"event handler {name}= on <{tag}>")
            if name == "style":
                self.found.append(f"style= on <{tag}>")
            if name.startswith(("hx-on", "data-hx-on")):
                self.found.append(f"{name}= on <{tag}>")
            if value.startswith(("javascript:", "js:")):
                self.found.append(f"{name}={value[:30]} on <{tag}>")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice():
    return UserFactory(username="alice", display_name="Alice")


@pytest.fixture
def alice_client(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def general(alice, django_capture_on_commit_callbacks):
    """A room alice is in, with her message (edit and delete buttons), bob's and a join line."""
    bob = UserFactory(username="bob")
    room = make_room(alice, name="General", members=[bob])
    with django_capture_on_commit_callbacks(execute=True):
        message_post(alice, room_id=room.public_id, body="<b>mine</b>", client_id="a-1")
        message_post(bob, room_id=room.public_id, body="onclick=alert(1)", client_id="b-1")
    return room


# The pages of the main flows, each with what it needs: (client, path, method, data).
Page = Callable[..., tuple[Client, str, str, dict[str, str]]]
PAGES: dict[str, Page] = {
    "login": lambda alice, client, room: (Client(), reverse("login"), "get", {}),
    "login with errors": lambda alice, client, room: (
        Client(),
        reverse("login"),
        "post",
        {"username": "alice", "password": "wrong"},
    ),
    "sign up": lambda alice, client, room: (Client(), reverse("sign_up"), "get", {}),
    "home": lambda alice, client, room: (client, reverse("chat:home"), "get", {}),
    "room": lambda alice, client, room: (
        client,
        reverse("chat:room", args=[room.public_id]),
        "get",
        {},
    ),
    "members (htmx)": lambda alice, client, room: (
        client,
        reverse("chat:members", args=[room.public_id]),
        "get",
        {},
    ),
    "older messages (htmx)": lambda alice, client, room: (
        client,
        f"{reverse('chat:older', args=[room.public_id])}?before=100",
        "get",
        {},
    ),
    "tokens": lambda alice, client, room: (client, reverse("tokens"), "get", {}),
    "tokens, a new one shown": lambda alice, client, room: (
        client,
        reverse("tokens"),
        "post",
        {"name": "bot", "expires_in_days": "30", "password": PASSWORD},
    ),
    "room not found": lambda alice, client, room: (
        client,
        reverse("chat:room", args=["00000000-0000-0000-0000-000000000000"]),
        "get",
        {},
    ),
}


def fetch(name: str, alice, client: Client, room):
    who, path, method, data = PAGES[name](alice, client, room)
    response = getattr(who, method)(path, data)
    assert response.status_code in (200, 404), (name, response.status_code)
    return response


@pytest.mark.parametrize("name", PAGES)
def test_every_page_has_a_strict_content_security_policy(name, alice, alice_client, general):
    response = fetch(name, alice, alice_client, general)

    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["connect-src"] == ["'self'", "ws://testserver"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize("name", PAGES)
def test_no_page_of_the_main_flows_has_inline_code(name, alice, alice_client, general):
    response = fetch(name, alice, alice_client, general)

    assert inline_code(response.content.decode()) == []


def test_the_inline_code_finder_finds_what_the_policy_refuses() -> None:
    html = (
        '<script>go()</script><script type="application/json">{}</script><script src="/a.js">'
        '</script><p style="color: red" onclick="go()"><a href="javascript:go()">x</a>'
        '<div hx-on:click="go()" hx-vals="js:{a: go()}"></div><style>p {}</style>'
    )

    assert inline_code(html) == [
        "inline <script []>",
        "style= on <p>",
        "event handler onclick= on <p>",
        "href=javascript:go() on <a>",
        "hx-on:click= on <div>",
        "hx-vals=js:{a: go()} on <div>",
        "inline <style>",
    ]


def test_the_socket_origin_follows_the_page_scheme(alice_client, settings) -> None:
    settings.SECURE_SSL_REDIRECT = False

    response = alice_client.get(reverse("chat:home"), secure=True)

    assert policy(response)["connect-src"] == ["'self'", "wss://testserver"]


def test_only_the_api_documentation_may_run_inline_code(alice_client) -> None:
    response = alice_client.get(reverse("api:docs"))

    assert response.status_code == 200
    directives = policy(response)
    assert directives["script-src"] == ["'self'", "'unsafe-inline'"]
    assert directives["style-src"] == ["'self'", "'unsafe-inline'"]
    assert directives["frame-ancestors"] == ["'none'"]


def test_the_admin_keeps_the_strict_policy(alice, alice_client) -> None:
    alice.is_staff = alice.is_superuser = True
    alice.save()

    response = alice_client.get(reverse("admin:chat_room_add"))

    assert response.status_code == 200
    assert policy(response)["script-src"] == ["'self'"]
    assert inline_code(response.content.decode()) == []


def test_debug_error_pages_keep_their_inline_code(alice_client, settings) -> None:
    # Django's 404 page in DEBUG lists the URL patterns with inline style.
    settings.DEBUG = True

    response = alice_client.get("/no-such-page")

    assert response.status_code == 404
    assert "Content-Security-Policy" not in response


def test_permissions_policy_denies_devices_and_sensors(client) -> None:
    response = client.get(reverse("login"))

    denied = {item.strip() for item in response["Permissions-Policy"].split(",")}
    for feature in ("camera", "microphone", "geolocation", "payment", "usb", "serial", "hid"):
        assert f"{feature}=()" in denied


def test_the_security_middleware_headers_are_on(client) -> None:
    response = client.get(reverse("login"))

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def cache_control(response) -> set[str]:
    return {item.strip() for item in response["Cache-Control"].split(",")}


@pytest.mark.parametrize(
    "name", ["home", "room", "members (htmx)", "tokens", "tokens, a new one shown", "login"]
)
def test_pages_are_private_and_not_stored(name, alice, alice_client, general) -> None:
    response = fetch(name, alice, alice_client, general)

    assert {"private", "no-store"} <= cache_control(response)


def test_the_api_json_is_private_and_not_stored(alice, alice_client) -> None:
    _, plain = token_create(alice, name="script")

    by_session = alice_client.get(reverse("api:me"))
    by_token = Client().get(reverse("api:me"), HTTP_AUTHORIZATION=f"Bearer {plain}")

    for response in (by_session, by_token):
        assert response.status_code == 200
        assert {"private", "no-store"} <= cache_control(response)


def test_probes_keep_their_own_cache_control(client) -> None:
    response = client.get(reverse("healthz"))

    assert {"no-cache", "no-store", "must-revalidate", "private"} <= cache_control(response)


def test_static_files_are_cacheable_and_carry_no_page_policy(client) -> None:
    response = client.get("/static/chat/parley.js")

    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    assert "Content-Security-Policy" not in response
    assert response["X-Content-Type-Options"] == "nosniff"
