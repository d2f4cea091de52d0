"""reaction.updated in the per-socket delivery state (chat/realtime/delivery.py): a change of
an entry, like message.edited."""

import pytest

from chat.realtime.delivery import Delivery, Offer


def delivering(cursor: int) -> Delivery:
    delivery = Delivery()
    delivery.subscribe("r", cursor=cursor)
    return delivery


def updated(seq: int, room: str = "r") -> dict:
    return {"type": "reaction.updated", "room": room, "seq": seq, "text": "{}"}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (updated(3), Offer.WRITE),  # an entry delivered: the fan-out writes it at once
        (updated(4), Offer.WRITE),
        (updated(5), Offer.DROP),  # not delivered yet: it comes with its reactions
        (updated(1, room="gone"), Offer.DROP),
    ],
)
def test_the_fan_out_passes_on_reactions_of_delivered_entries_only(
    event: dict, expected: Offer
) -> None:
    assert delivering(4).offer(event, handler_idle=True) is expected


def test_the_handler_loop_sends_a_change_only_for_a_delivered_seq() -> None:
    delivery = delivering(4)
    assert delivery.change("r", 4) is True
    assert delivery.change("r", 5) is False
    assert delivery.written(updated(4)) is False  # not an entry: the cursor stays
    assert delivery.cursors == {"r": 4}
