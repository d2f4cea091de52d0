"""The seed_demo management command."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from chat.models import Membership, Message, Room
from chat.selectors.rooms import rooms_directory

pytestmark = pytest.mark.django_db


def snapshot() -> dict[str, object]:
    return {
        "users": sorted(User.objects.values_list("username", "is_staff")),
        "rooms": sorted(Room.objects.values_list("name", "visibility", "last_seq")),
        "memberships": sorted(Membership.objects.values_list("room__name", "user__username")),
        "messages": Message.objects.count(),
        "texts": sorted(
            Message.objects.filter(kind=Message.Kind.TEXT).values_list("room__name", "body")
        ),
    }


def test_seed_demo_creates_users_rooms_members_and_messages(settings: object) -> None:
    settings.DEBUG = True

    call_command("seed_demo", stdout=StringIO())

    state = snapshot()
    assert state["users"] == [("admin", True), ("alice", False), ("bob", False), ("carol", False)]
    assert [name for name, _, _ in state["rooms"]] == [
        "Founders",
        "General",
        "Random",
        "Staff lounge",
    ]
    assert ("Founders", "carol") not in state["memberships"]
    assert ("Founders", "alice") in state["memberships"]
    assert len(state["texts"]) == 2
    alice = User.objects.get(username="alice")
    assert alice.check_password("parley-demo")
    assert [room.name for room in rooms_directory(alice)] == ["Founders", "General", "Random"]


def test_seed_demo_twice_gives_the_same_users_rooms_and_messages(settings: object) -> None:
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    first = snapshot()

    call_command("seed_demo", stdout=StringIO())

    assert snapshot() == first


def test_seed_demo_refuses_with_debug_off(settings: object) -> None:
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo", stdout=StringIO())

    assert not User.objects.exists()
    assert not Room.objects.exists()


def test_seed_demo_runs_with_debug_off_when_forced(settings: object) -> None:
    settings.DEBUG = False

    call_command("seed_demo", "--force", stdout=StringIO())

    assert User.objects.filter(username="admin", is_staff=True).exists()
    assert Room.objects.count() == 4
