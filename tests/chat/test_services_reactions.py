"""chat.services.reactions: each user's set of emoji per message."""

import json

import pytest

from chat import wire
from chat.models import Message, Reaction
from chat.realtime import publish
from chat.realtime.groups import room_group
from chat.services.direct import direct_open
from chat.services.messages import message_delete, message_edit, message_post
from chat.services.reactions import MAX_EMOJI_PER_MESSAGE, reaction_add, reaction_remove
from chat.services.rooms import room_join, room_leave, room_update
from core.errors import (
    Forbidden,
    InvalidInput,
    MessageDeleted,
    MessageNotFound,
    NotMember,
    RateLimited,
    RoomArchived,
    RoomNotFound,
    TooManyReactions,
)
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db

# Twenty different emoji, and one more.
EMOJI = [chr(code) for code in range(0x1F600, 0x1F600 + MAX_EMOJI_PER_MESSAGE + 1)]


@pytest.fixture
def room(alice, bob):
    return make_room(members=[alice, bob])


@pytest.fixture
def message(alice, room) -> Message:
    return message_post(alice, room_id=room.public_id, body="lunch?")


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, dict]]:
    """The events publish sends, once their transaction commits."""
    events: list[tuple[str, dict]] = []
    monkeypatch.setattr(publish, "_send", lambda group, event: events.append((group, event)))
    return events


def summary(message: Message) -> list[dict]:
    return wire.message_data(Message.objects.get(pk=message.pk))["reactions"]


def test_adding_twice_is_one_reaction(alice, room, message) -> None:
    reaction_add(alice, room_id=room.public_id, seq=message.seq, emoji="👍")
    again = reaction_add(alice, room_id=str(room.public_id), seq=message.seq, emoji="👍")

    assert Reaction.objects.filter(message=message).count() == 1
    assert wire.reactions_data(again.reaction_list) == [
        {"emoji": "👍", "count": 1, "users": ["alice"]}
    ]


def test_the_summary_counts_users_per_emoji_in_the_order_first_used(
    alice, bob, room, message
) -> None:
    reaction_add(bob, room_id=room.public_id, seq=message.seq, emoji="🎉")
    reaction_add(alice, room_id=room.public_id, seq=message.seq, emoji="👍")
    reaction_add(alice, room_id=room.public_id, seq=message.seq, emoji="🎉")

    assert summary(message) == [
        {"emoji": "🎉", "count": 2, "users": ["bob", "alice"]},
        {"emoji": "👍", "count": 1, "users": ["alice"]},
    ]


def test_removing_takes_only_the_users_own_emoji(alice, bob, room, message) -> None:
    reaction_add(alice, room_id=room.public_id, seq=message.seq, emoji="👍")
    reaction_add(bob, room_id=room.public_id, seq=message.seq, emoji="👍")

    after = reaction_remove(alice, room_id=room.public_id, seq=message.seq, emoji="👍")

    assert wire.reactions_data(after.reaction_list) == [
        {"emoji": "👍", "count": 1, "users": ["bob"]}
    ]


def test_removing_an_absent_reaction_is_no_error(alice, room, message, sent) -> None:
    after = reaction_remove(alice, room_id=room.public_id, seq=message.seq, emoji="👍")

    assert after.reaction_list == []
    assert sent == []


def test_the_emoji_is_stored_in_nfc_and_checked(alice, room, message) -> None:
    with pytest.raises(InvalidInput):
        reaction_add(alice, room_id=room.public_id, seq=message.seq, emoji="a")
    with pytest.raises(InvalidInput):
        reaction_add(alice, room_id=room.public_id, seq=message.seq, emoji="👍👍")
    assert not Reaction.objects.exists()


@pytest.mark.parametrize("seq", [0, -1, "1", 1.0, True, None])
def test_a_bad_seq_is_invalid(alice, room, seq) -> None:
    with pytest.raises(InvalidInput):
        reaction_add(alice, room_id=room.public_id, seq=seq, emoji="👍")


def test_a_message_takes_at_most_twenty_different_emoji(alice, bob, room, message) -> None:
    for emoji in EMOJI[:MAX_EMOJI_PER_MESSAGE]:
        reaction_add(alice, room_id=room.public_id, seq=message.seq, emoji=emoji)

    with pytest.raises(TooManyReactions) as refusal:
        reaction_add(alice, room_id=room.public_id, seq=message.seq, emoji=EMOJI[-1])
    assert refusal.value.code == "too_many_reactions"
    assert refusal.value.details == {"max_count": MAX_EMOJI_PER_MESSAGE}
    # An emoji already there is still open to others.
    reaction_add(bob, room_id=room.public_id, seq=message.seq, emoji=EMOJI[0])
    assert len(summary(message)) == MAX_EMOJI_PER_MESSAGE
    assert summary(message)[0]["count"] == 2


def test_the_users_listed_are_capped_but_the_count_is_exact(room, message) -> None:
    for _ in range(wire.REACTION_USERS_SHOWN + 5):
        user = UserFactory()
        room_join(user, room_id=room.public_id)
        reaction_add(user, room_id=room.public_id, seq=message.seq, emoji="👍")

    [entry] = summary(message)
    assert entry["count"] == wire.REACTION_USERS_SHOWN + 5
    assert len(entry["users"]) == wire.REACTION_USERS_SHOWN


def test_a_non_member_of_a_public_room_is_not_member(room, message) -> None:
    with pytest.raises(NotMember):
        reaction_add(UserFactory(), room_id=room.public_id, seq=message.seq, emoji="👍")


def test_a_member_who_left_is_not_member(bob, room, message) -> None:
    room_leave(bob, room_id=room.public_id)
    with pytest.raises(NotMember):
        reaction_add(bob, room_id=room.public_id, seq=message.seq, emoji="👍")


def test_someone_elses_conversation_is_room_not_found(alice, bob) -> None:
    conversation = direct_open(alice, username="bob")
    posted = message_post(alice, room_id=conversation.public_id, body="psst")

    with pytest.raises(RoomNotFound):
        reaction_add(UserFactory(), room_id=conversation.public_id, seq=posted.seq, emoji="👍")
    reaction_add(bob, room_id=conversation.public_id, seq=posted.seq, emoji="👍")


@pytest.mark.parametrize("room_id", ["nope", "00000000-0000-0000-0000-000000000000", None])
def test_an_unknown_room_is_room_not_found(alice, room_id) -> None:
    with pytest.raises(RoomNotFound):
        reaction_add(alice, room_id=room_id, seq=1, emoji="👍")


def test_a_deleted_message_loses_its_reactions_and_takes_no_more(alice, bob, room, message) -> None:
    reaction_add(bob, room_id=room.public_id, seq=message.seq, emoji="👍")

    deleted = message_delete(alice, room_id=room.public_id, seq=message.seq)

    assert wire.message_data(deleted)["reactions"] == []
    assert not Reaction.objects.filter(message=message).exists()
    with pytest.raises(MessageDeleted):
        reaction_add(bob, room_id=room.public_id, seq=message.seq, emoji="👍")
    with pytest.raises(MessageDeleted):
        reaction_remove(bob, room_id=room.public_id, seq=message.seq, emoji="👍")


def test_an_archived_room_takes_no_reactions(alice, bob, room, message) -> None:
    reaction_add(bob, room_id=room.public_id, seq=message.seq, emoji="👍")
    room_update(room.created_by, room=room, is_archived=True)

    with pytest.raises(RoomArchived):
        reaction_add(bob, room_id=room.public_id, seq=message.seq, emoji="🎉")
    with pytest.raises(RoomArchived):
        reaction_remove(bob, room_id=room.public_id, seq=message.seq, emoji="👍")


def test_a_seq_past_the_timeline_is_message_not_found(alice, room, message) -> None:
    with pytest.raises(MessageNotFound):
        reaction_add(alice, room_id=room.public_id, seq=message.seq + 1, emoji="👍")


def test_a_seq_of_another_room_is_message_not_found(alice, room, message) -> None:
    other = make_room(members=[alice])
    for n in range(message.seq + 3):
        message_post(alice, room_id=other.public_id, body=f"m{n}")

    with pytest.raises(MessageNotFound):
        reaction_add(alice, room_id=room.public_id, seq=message.seq + 2, emoji="👍")
    assert not Reaction.objects.exists()


def test_a_system_line_takes_no_reactions(alice, room) -> None:
    line = Message.objects.filter(room=room, kind=Message.Kind.JOINED).first()

    with pytest.raises(Forbidden):
        reaction_add(alice, room_id=room.public_id, seq=line.seq, emoji="👍")


def test_reacting_counts_against_the_write_limit(alice, room, message, settings) -> None:
    settings.PARLEY_WRITE_RATE = 0.001
    settings.PARLEY_WRITE_BURST = 1
    reaction_add(alice, room_id=room.public_id, seq=message.seq, emoji="👍")

    with pytest.raises(RateLimited):
        reaction_remove(alice, room_id=room.public_id, seq=message.seq, emoji="👍")


def test_a_change_is_published_after_commit_with_the_whole_summary(
    alice, bob, room, message, sent, django_capture_on_commit_callbacks
) -> None:
    reaction_add(bob, room_id=room.public_id, seq=message.seq, emoji="🎉")
    with django_capture_on_commit_callbacks() as callbacks:
        reaction_add(alice, room_id=room.public_id, seq=message.seq, emoji="👍")
        assert sent == []  # nothing before the commit
    for callback in callbacks:
        callback()

    [(group, event)] = sent
    assert group == room_group(room.public_id)
    assert event["type"] == "reaction.updated"
    assert (event["room"], event["seq"]) == (str(room.public_id), message.seq)
    assert json.loads(event["text"]) == {
        "type": "reaction.updated",
        "room": str(room.public_id),
        "seq": message.seq,
        "reactions": [
            {"emoji": "🎉", "count": 1, "users": ["bob"]},
            {"emoji": "👍", "count": 1, "users": ["alice"]},
        ],
    }


def test_an_unchanged_set_publishes_nothing(
    alice, room, message, sent, django_capture_on_commit_callbacks
) -> None:
    reaction_add(alice, room_id=room.public_id, seq=message.seq, emoji="👍")
    with django_capture_on_commit_callbacks(execute=True):
        reaction_add(alice, room_id=room.public_id, seq=message.seq, emoji="👍")
        reaction_remove(alice, room_id=room.public_id, seq=message.seq, emoji="🎉")
    assert sent == []


def test_an_edit_keeps_the_reactions_in_its_frame(alice, bob, room, message) -> None:
    reaction_add(bob, room_id=room.public_id, seq=message.seq, emoji="👍")

    edited = message_edit(alice, room_id=room.public_id, seq=message.seq, body="dinner?")

    assert wire.message_data(edited)["reactions"] == [{"emoji": "👍", "count": 1, "users": ["bob"]}]


def test_a_new_message_has_no_reactions(message) -> None:
    assert wire.message_data(message)["reactions"] == []
