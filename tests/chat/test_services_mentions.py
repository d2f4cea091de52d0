"""chat.services.mentions, through message_post, message_edit and message_delete."""

import pytest

from chat import wire
from chat.models import Mention, Message
from chat.services.direct import direct_open
from chat.services.messages import message_delete, message_edit, message_post
from chat.services.rooms import room_join
from core.errors import NotMember
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return UserFactory(username="ada")


@pytest.fixture
def vic():
    return UserFactory(username="Vic")


@pytest.fixture
def room(admin, alice, bob, vic):
    """ada is its room admin (not staff); alice, bob and Vic are members."""
    return make_room(admin, members=[alice, bob, vic])


def mentioned(message: Message) -> set[str]:
    return set(Mention.objects.filter(message=message).values_list("user__username", flat=True))


def post(user, room, body: str) -> Message:
    return message_post(user, room_id=room.public_id, body=body)


def test_a_mentioned_member_is_recorded_and_listed_in_the_message(alice, vic, room) -> None:
    message = post(alice, room, "@vic, lunch?")

    assert mentioned(message) == {"Vic"}
    data = wire.message_data(message)
    assert data["mentions"] == ["Vic"]
    assert data["mentions_room"] is False
    assert '<span class="mention" data-username="Vic">@vic</span>' in data["body_html"]
    stored = wire.message_data(Message.objects.get(pk=message.pk))
    assert stored["mentions"] == ["Vic"]
    assert stored["body_html"] == data["body_html"]


def test_names_match_as_log_in_does_regardless_of_case_and_width(alice, vic, room) -> None:
    message = post(alice, room, "@VIC and @\uff56\uff49\uff43")

    assert mentioned(message) == {"Vic"}
    assert message.body_html.count('data-username="Vic"') == 2


def test_non_members_deactivated_users_unknown_names_and_the_author_are_not_recorded(
    alice, bob, room
) -> None:
    UserFactory(username="outsider")
    bob.is_active = False
    bob.save(update_fields=["is_active"])

    message = post(alice, room, "@outsider @bob @nobody @alice")

    assert mentioned(message) == set()
    assert wire.message_data(message)["mentions"] == []
    assert "mention" not in message.body_html


def test_a_member_of_a_staff_only_room_who_is_no_longer_staff_is_not_recorded(alice) -> None:
    alice.is_staff = True
    alice.save(update_fields=["is_staff"])
    staff_member = UserFactory(username="former", is_staff=True)
    room = make_room(alice, visibility="staff", members=[staff_member])
    staff_member.is_staff = False
    staff_member.save(update_fields=["is_staff"])

    message = post(alice, room, "@former")

    assert mentioned(message) == set()


def test_the_other_person_of_a_direct_conversation_can_be_mentioned(alice, bob) -> None:
    conversation = direct_open(alice, username="bob")

    message = post(alice, conversation, "@bob see this")

    assert mentioned(message) == {"bob"}


def test_five_hundred_mentions_record_the_first_fifty_and_post_the_whole_text(alice, room) -> None:
    members = [UserFactory(username=f"m{number}") for number in range(60)]
    for member in members:
        room_join(member, room_id=room.public_id)
    body = " ".join(f"@m{number % 60}" for number in range(500))

    message = post(alice, room, body)

    assert Mention.objects.filter(message=message).count() == 50
    assert mentioned(message) == {f"m{number}" for number in range(50)}
    assert Message.objects.get(pk=message.pk).body == body


def test_room_from_a_room_admin_mentions_every_other_member(admin, alice, bob, vic, room) -> None:
    message = post(admin, room, "@room meeting now, @bob too")

    assert mentioned(message) == {"alice", "bob", "Vic"}
    assert Message.objects.get(pk=message.pk).mentions_room is True
    data = wire.message_data(Message.objects.get(pk=message.pk))
    assert data["mentions_room"] is True
    assert data["mentions"] == ["bob"]  # by name; the rest through @room
    assert '<span class="mention-room">@room</span>' in data["body_html"]


def test_room_from_staff_who_is_a_plain_member_mentions_everyone(alice, room) -> None:
    staff = UserFactory(username="staffer", is_staff=True)
    room_join(staff, room_id=room.public_id)

    message = post(staff, room, "@room")

    assert Message.objects.get(pk=message.pk).mentions_room is True
    assert "alice" in mentioned(message)


def test_room_from_a_plain_member_stays_text_and_mentions_no_one(alice, room) -> None:
    message = post(alice, room, "@room hello")

    assert mentioned(message) == set()
    assert Message.objects.get(pk=message.pk).mentions_room is False
    assert message.body_html == "<p>@room hello</p>"


def test_room_mentions_beyond_the_rate_limit_stay_text(admin, room, settings) -> None:
    settings.PARLEY_ROOM_MENTION_RATE = 1 / 3600
    settings.PARLEY_ROOM_MENTION_BURST = 2

    first, second, third = (post(admin, room, f"@room {number}") for number in range(3))

    assert [message.mentions_room for message in (first, second, third)] == [True, True, False]
    assert mentioned(third) == set()
    assert third.body_html == "<p>@room 2</p>"


def test_an_edit_replaces_the_set_and_keeps_mentions_it_still_makes(alice, bob, vic, room) -> None:
    message = post(alice, room, "@bob and @vic")
    kept = Mention.objects.get(message=message, user=bob)

    edited = message_edit(alice, room_id=room.public_id, seq=message.seq, body="@bob and @admin")
    assert mentioned(edited) == {"bob"}
    edited = message_edit(alice, room_id=room.public_id, seq=message.seq, body="@bob, @ada")

    assert mentioned(edited) == {"bob", "ada"}
    assert Mention.objects.get(message=message, user=bob).pk == kept.pk
    assert wire.message_data(edited)["mentions"] == ["bob", "ada"]
    assert 'data-username="ada"' in Message.objects.get(pk=message.pk).body_html


def test_an_edit_that_keeps_an_honoured_room_mention_does_not_spend_the_allowance(
    admin, room, settings
) -> None:
    settings.PARLEY_ROOM_MENTION_RATE = 1 / 3600
    settings.PARLEY_ROOM_MENTION_BURST = 1
    message = post(admin, room, "@room soon")

    edited = message_edit(admin, room_id=room.public_id, seq=message.seq, body="@room now")

    assert edited.mentions_room is True
    assert Message.objects.get(pk=message.pk).mentions_room is True


def test_deleting_a_message_drops_its_mentions(alice, room) -> None:
    message = post(alice, room, "@vic @room")

    deleted = message_delete(alice, room_id=room.public_id, seq=message.seq)

    assert Mention.objects.filter(message=message).count() == 0
    assert wire.message_data(deleted)["mentions"] == []
    assert wire.message_data(deleted)["mentions_room"] is False


def test_a_refused_post_records_nothing(alice, vic, room) -> None:
    stranger = UserFactory(username="stranger")

    with pytest.raises(NotMember):
        post(stranger, room, "@vic")

    assert Mention.objects.count() == 0


def test_a_retried_send_returns_the_first_message_with_its_mentions(alice, room) -> None:
    first = message_post(alice, room_id=room.public_id, body="@vic", client_id="c-1")

    again = message_post(alice, room_id=room.public_id, body="@vic", client_id="c-1")

    assert again.pk == first.pk
    assert wire.message_data(again)["mentions"] == ["Vic"]
    assert Mention.objects.count() == 1
