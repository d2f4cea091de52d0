"""chat.admin: the operators' pages, through the Django test client as a superuser."""

import pytest
from django.test import Client
from django.urls import reverse

from chat.models import Membership, Message, Room
from chat.services.messages import message_post
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db


# Every save of the room form (add or change) ends in a 500: RoomAdmin.save_formset never calls
# formset.save(), so formset.new_objects does not exist when the admin builds its change
# message, and the admin's transaction rolls back what the services wrote.
@pytest.fixture
def operator() -> object:
    return UserFactory(username="operator", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(operator: object) -> Client:
    client = Client()
    client.force_login(operator)
    return client


def room_form(room: Room | None = None, **changes: object) -> dict[str, object]:
    """The room change (or add) form as the admin renders it, with its memberships inline."""
    memberships = list(Membership.objects.filter(room=room).order_by("pk")) if room else []
    data: dict[str, object] = {
        "name": room.name if room else "",
        "visibility": room.visibility if room else Room.Visibility.PUBLIC,
        "memberships-TOTAL_FORMS": str(len(memberships)),
        "memberships-INITIAL_FORMS": str(len(memberships)),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    if room and room.is_archived:
        data["is_archived"] = "on"
    for index, membership in enumerate(memberships):
        data[f"memberships-{index}-id"] = str(membership.pk)
        data[f"memberships-{index}-room"] = str(room.pk)
        data[f"memberships-{index}-user"] = str(membership.user_id)
        data[f"memberships-{index}-role"] = membership.role
    data.update(changes)
    return data


def add_inline_member(data: dict[str, object], room: Room, user: object, role: str) -> None:
    index = int(data["memberships-TOTAL_FORMS"])
    data[f"memberships-{index}-room"] = str(room.pk)
    data[f"memberships-{index}-user"] = str(user.pk)
    data[f"memberships-{index}-role"] = role
    data["memberships-TOTAL_FORMS"] = str(index + 1)


def last_line(room: Room) -> tuple[int, str, int | None, str]:
    return (
        Message.objects.filter(room=room)
        .order_by("-seq")
        .values_list("seq", "kind", "author_id", "body")
        .first()
    )


def change_url(room: Room) -> str:
    return reverse("admin:chat_room_change", args=[room.pk])


def test_admin_index_loads(admin_client: Client) -> None:
    response = admin_client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert "Parley administration" in response.content.decode()


def test_admin_requires_staff() -> None:
    client = Client()
    client.force_login(UserFactory(is_staff=False))

    response = client.get(reverse("admin:chat_room_changelist"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_room_changelist_lists_rooms(admin_client: Client) -> None:
    make_room(name="General")
    make_room(name="Random")

    response = admin_client.get(reverse("admin:chat_room_changelist"))

    assert response.status_code == 200
    assert "General" in response.content.decode()
    assert "Random" in response.content.decode()


def test_room_change_page_loads_with_its_members(admin_client: Client) -> None:
    member = UserFactory(username="bob")
    room = make_room(name="General", members=[member])

    response = admin_client.get(change_url(room))

    assert response.status_code == 200
    assert response.context["inline_admin_formsets"][0].formset.prefix == "memberships"
    assert "bob" in response.content.decode()


def test_message_changelist_searches_and_filters_by_room(admin_client: Client) -> None:
    author = UserFactory()
    general = make_room(name="General", members=[author])
    random = make_room(name="Random", members=[author])
    message_post(author, room_id=general.public_id, body="needle in general")
    message_post(author, room_id=general.public_id, body="hay in general")
    message_post(author, room_id=random.public_id, body="needle in random")
    url = reverse("admin:chat_message_changelist")

    everything = admin_client.get(url)
    searched = admin_client.get(url, {"q": "needle"})
    filtered = admin_client.get(url, {"room__id__exact": general.pk})
    both = admin_client.get(url, {"q": "needle", "room__id__exact": general.pk})

    assert everything.status_code == searched.status_code == 200
    assert filtered.status_code == both.status_code == 200
    bodies = {
        name: {message.body for message in response.context["cl"].result_list}
        for name, response in [("searched", searched), ("filtered", filtered), ("both", both)]
    }
    assert bodies["searched"] == {"needle in general", "needle in random"}
    assert bodies["filtered"] == {"needle in general", "hay in general", ""}
    assert bodies["both"] == {"needle in general"}


def test_messages_cannot_be_added_or_changed_in_the_admin(admin_client: Client) -> None:
    author = UserFactory()
    room = make_room(members=[author])
    message = message_post(author, room_id=room.public_id, body="original")

    add_page = admin_client.get(reverse("admin:chat_message_add"))
    admin_client.post(reverse("admin:chat_message_change", args=[message.pk]), {"body": "tampered"})

    assert add_page.status_code == 403
    assert Message.objects.get(pk=message.pk).body == "original"


def test_adding_a_room_in_the_admin_creates_it_without_members(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:chat_room_add"),
        room_form(name="Announcements", visibility=Room.Visibility.STAFF),
    )

    assert response.status_code == 302
    room = Room.objects.get(name="Announcements")
    assert room.visibility == Room.Visibility.STAFF
    assert room.slug == "announcements"
    assert room.last_seq == 0
    assert not Membership.objects.filter(room=room).exists()
    assert not Message.objects.filter(room=room).exists()


def test_adding_an_archived_room_in_the_admin_writes_an_archived_line(
    admin_client: Client, operator: object
) -> None:
    response = admin_client.post(
        reverse("admin:chat_room_add"), room_form(name="Old news", is_archived="on")
    )

    assert response.status_code == 302
    room = Room.objects.get(name="Old news")
    assert room.is_archived
    assert last_line(room) == (1, Message.Kind.ARCHIVED, operator.pk, "")


def test_adding_a_room_with_its_first_member_inline(admin_client: Client) -> None:
    member = UserFactory()
    data = room_form(name="Founders", visibility=Room.Visibility.INVITE)
    data["memberships-0-user"] = str(member.pk)
    data["memberships-0-role"] = Membership.Role.ADMIN
    data["memberships-TOTAL_FORMS"] = "1"

    response = admin_client.post(reverse("admin:chat_room_add"), data)

    assert response.status_code == 302
    room = Room.objects.get(name="Founders")
    assert Membership.objects.get(room=room).user == member
    assert Membership.objects.get(room=room).role == Membership.Role.ADMIN
    assert last_line(room) == (1, Message.Kind.JOINED, member.pk, "")


def test_adding_a_room_with_a_taken_name_in_the_admin_shows_the_error(
    admin_client: Client,
) -> None:
    make_room(name="General")

    response = admin_client.post(
        reverse("admin:chat_room_add"), room_form(name="general"), follow=True
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "A room with that name already exists." in html
    assert "added successfully" not in html
    assert Room.objects.count() == 1


def test_adding_a_membership_inline_writes_a_joined_line(admin_client: Client) -> None:
    room = make_room(name="Founders", visibility=Room.Visibility.INVITE)
    newcomer = UserFactory()
    data = room_form(room)
    add_inline_member(data, room, newcomer, Membership.Role.MEMBER)

    response = admin_client.post(change_url(room), data)

    assert response.status_code == 302
    membership = Membership.objects.get(room=room, user=newcomer)
    room.refresh_from_db()
    assert membership.last_read_seq == room.last_seq
    assert last_line(room) == (room.last_seq, Message.Kind.JOINED, newcomer.pk, "")


def test_deleting_a_membership_inline_writes_a_left_line(admin_client: Client) -> None:
    leaver = UserFactory()
    room = make_room(name="General", members=[leaver])
    data = room_form(room)
    index = next(
        index
        for index in range(int(data["memberships-TOTAL_FORMS"]))
        if data[f"memberships-{index}-user"] == str(leaver.pk)
    )
    data[f"memberships-{index}-DELETE"] = "on"

    response = admin_client.post(change_url(room), data)

    assert response.status_code == 302
    assert not Membership.objects.filter(room=room, user=leaver).exists()
    room.refresh_from_db()
    assert last_line(room) == (room.last_seq, Message.Kind.LEFT, leaver.pk, "")


def test_changing_a_role_inline_writes_no_timeline_line(admin_client: Client) -> None:
    member = UserFactory()
    room = make_room(name="General", members=[member])
    room.refresh_from_db()
    seq_before = room.last_seq
    data = room_form(room)
    index = next(
        index
        for index in range(int(data["memberships-TOTAL_FORMS"]))
        if data[f"memberships-{index}-user"] == str(member.pk)
    )
    data[f"memberships-{index}-role"] = Membership.Role.ADMIN

    response = admin_client.post(change_url(room), data)

    assert response.status_code == 302
    assert Membership.objects.get(room=room, user=member).role == Membership.Role.ADMIN
    room.refresh_from_db()
    assert room.last_seq == seq_before


def test_renaming_in_the_change_form_writes_a_renamed_line(
    admin_client: Client, operator: object
) -> None:
    room = make_room(name="General")

    response = admin_client.post(change_url(room), room_form(room, name="Town square"))

    assert response.status_code == 302
    room.refresh_from_db()
    assert room.name == "Town square"
    assert last_line(room) == (room.last_seq, Message.Kind.RENAMED, operator.pk, "Town square")


def test_renaming_to_an_invalid_name_in_the_change_form_shows_the_error(
    admin_client: Client,
) -> None:
    room = make_room(name="General")

    response = admin_client.post(
        change_url(room), room_form(room, name="bell\x07name"), follow=True
    )

    html = response.content.decode()
    assert "The room name contains characters that cannot be used." in html
    assert "changed successfully" not in html
    assert Room.objects.get(pk=room.pk).name == "General"


def test_archiving_in_the_change_form_writes_an_archived_line(
    admin_client: Client, operator: object
) -> None:
    room = make_room(name="General")

    response = admin_client.post(change_url(room), room_form(room, is_archived="on"))

    assert response.status_code == 302
    room.refresh_from_db()
    assert room.is_archived
    assert last_line(room) == (room.last_seq, Message.Kind.ARCHIVED, operator.pk, "")


def test_saving_the_change_form_unchanged_writes_nothing(admin_client: Client) -> None:
    room = make_room(name="General", members=[UserFactory()])
    room.refresh_from_db()
    seq_before = room.last_seq

    response = admin_client.post(change_url(room), room_form(room))

    assert response.status_code == 302
    room.refresh_from_db()
    assert room.last_seq == seq_before
    assert Message.objects.filter(room=room).count() == seq_before


def test_deleting_a_room_in_the_admin_removes_it_and_its_timeline(admin_client: Client) -> None:
    room = make_room(name="General", members=[UserFactory()])

    response = admin_client.post(reverse("admin:chat_room_delete", args=[room.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not Room.objects.filter(pk=room.pk).exists()
    assert not Message.objects.filter(room_id=room.pk).exists()


def test_deleting_rooms_with_the_changelist_action_removes_them(admin_client: Client) -> None:
    rooms = [make_room(name="General"), make_room(name="Random")]

    response = admin_client.post(
        reverse("admin:chat_room_changelist"),
        {"action": "delete_selected", "_selected_action": [r.pk for r in rooms], "post": "yes"},
    )

    assert response.status_code == 302
    assert not Room.objects.exists()
    assert not Message.objects.exists()
