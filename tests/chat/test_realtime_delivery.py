"""The per-socket delivery state machine, without a socket (chat/realtime/delivery.py)."""

import pytest

from chat.realtime.delivery import GAP_GIVE_UP, Delivery, NewEntry, Offer


def delivering(**cursors: int) -> Delivery:
    delivery = Delivery()
    for room_id, cursor in cursors.items():
        delivery.subscribe(room_id, cursor=cursor)
    return delivery


def entry(room: str, seq: int) -> dict:
    return {"type": "message.new", "room": room, "seq": seq, "text": f"{room}#{seq}"}


# Live entries in the handler loop


def test_the_next_entry_is_sent_and_moves_the_cursor() -> None:
    delivery = delivering(r=4)
    assert delivery.new_entry("r", 5, "five", now=0) == NewEntry(texts=("five",))
    assert delivery.cursors["r"] == 5


@pytest.mark.parametrize("seq", [1, 4])
def test_an_entry_at_or_before_the_cursor_is_a_duplicate(seq: int) -> None:
    delivery = delivering(r=4)
    assert delivery.new_entry("r", seq, "again", now=0) == NewEntry()
    assert delivery.cursors["r"] == 4


def test_an_entry_of_a_room_not_delivered_is_dropped() -> None:
    assert delivering(r=4).new_entry("other", 1, "x", now=0) == NewEntry()


def test_an_entry_past_a_gap_waits_and_asks_for_one_wake_up() -> None:
    delivery = delivering(r=4)
    first = delivery.new_entry("r", 6, "six", now=0)
    assert first.texts == () and first.wait_for_gap and not first.catch_up
    second = delivery.new_entry("r", 7, "seven", now=0.1)
    assert second == NewEntry(gap=first.gap)  # the same gap: no second wake-up
    assert delivery.cursors["r"] == 4


def test_the_missing_entry_releases_the_early_ones_in_seq_order() -> None:
    delivery = delivering(r=4)
    delivery.new_entry("r", 7, "seven", now=0)
    delivery.new_entry("r", 6, "six", now=0)
    assert delivery.new_entry("r", 5, "five", now=0.1).texts == ("five", "six", "seven")
    assert delivery.cursors["r"] == 7
    assert "r" not in delivery.early


def test_early_entries_after_a_second_gap_stay_held() -> None:
    delivery = delivering(r=4)
    delivery.new_entry("r", 6, "six", now=0)
    delivery.new_entry("r", 8, "eight", now=0)
    assert delivery.new_entry("r", 5, "five", now=0).texts == ("five", "six")
    assert delivery.early["r"] == {8: "eight"}


def test_a_wake_up_fills_the_gap_only_while_it_is_still_open() -> None:
    delivery = delivering(r=4)
    gap = delivery.new_entry("r", 6, "six", now=0).gap
    assert delivery.gap_still_open("r", gap)
    delivery.new_entry("r", 5, "five", now=0)  # closed by the missing entry
    assert not delivery.gap_still_open("r", gap)
    later = delivery.new_entry("r", 8, "eight", now=1).gap  # a new gap
    assert not delivery.gap_still_open("r", gap)
    assert delivery.gap_still_open("r", later)


def test_a_gap_fill_reads_the_database_when_entries_are_still_missing() -> None:
    delivery = delivering(r=4)
    delivery.new_entry("r", 6, "six", now=0)
    assert delivery.gap_fill("r")
    assert "r" not in delivery.early  # the database has them too
    assert not delivery.gap_fill("r")  # nothing held any more


def test_a_gap_whose_wake_up_was_lost_is_read_with_the_rooms_next_entry() -> None:
    delivery = delivering(r=4)
    delivery.new_entry("r", 6, "six", now=0)
    assert delivery.new_entry("r", 7, "seven", now=GAP_GIVE_UP + 0.01).catch_up
    assert "r" not in delivery.early


# The fan-out's fast path


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (entry("r", 5), Offer.WRITE),
        (entry("r", 4), Offer.DROP),
        (entry("r", 7), Offer.QUEUE),  # past a gap: the handler loop waits for the rest
        (entry("gone", 1), Offer.DROP),
        ({"type": "message.edited", "room": "r", "seq": 3}, Offer.WRITE),
        ({"type": "message.deleted", "room": "r", "seq": 9}, Offer.DROP),  # comes with the entry
        ({"type": "typing.started", "room": "r"}, Offer.WRITE),
        ({"type": "presence.changed", "room": "r"}, Offer.WRITE),
        ({"type": "something.new", "room": "r"}, Offer.QUEUE),
    ],
)
def test_the_fan_out_writes_only_what_needs_no_decision(event: dict, expected: Offer) -> None:
    assert delivering(r=4).offer(event, handler_idle=True) is expected


def test_a_busy_handler_or_a_quiet_start_queues_everything() -> None:
    assert delivering(r=4).offer(entry("r", 5), handler_idle=False) is Offer.QUEUE
    quiet = delivering(r=4)
    quiet.start_quietly(now=0)
    assert quiet.offer(entry("r", 5), handler_idle=True) is Offer.QUEUE


def test_a_room_with_entries_held_past_a_gap_queues_its_next_entries() -> None:
    delivery = delivering(r=4)
    delivery.new_entry("r", 6, "six", now=0)
    assert delivery.offer(entry("r", 5), handler_idle=True) is Offer.QUEUE


def test_a_written_entry_moves_the_cursor_and_is_counted() -> None:
    delivery = delivering(r=4)
    assert delivery.written(entry("r", 5))
    assert delivery.cursors["r"] == 5
    assert not delivery.written({"type": "typing.started", "room": "r"})


# Changes, and rooms coming and going


def test_a_change_is_sent_only_for_an_entry_already_delivered() -> None:
    delivery = delivering(r=4)
    assert delivery.change("r", 4)
    assert not delivery.change("r", 5)
    assert not delivery.change("other", 1)


def test_a_change_of_an_early_entry_drops_it_so_the_catch_up_sends_it_as_it_is_now() -> None:
    delivery = delivering(r=4)
    delivery.new_entry("r", 6, "six, before its edit", now=0)
    assert not delivery.change("r", 6)
    assert 6 not in delivery.early["r"]


def test_subscribing_twice_keeps_the_first_cursor_and_unsubscribing_drops_early_entries() -> None:
    delivery = delivering(r=4)
    assert not delivery.subscribe("r", cursor=0)
    assert delivery.cursors["r"] == 4
    delivery.new_entry("r", 6, "six", now=0)
    assert delivery.unsubscribe("r")
    assert "r" not in delivery.early and not delivery.subscribed("r")
    assert not delivery.unsubscribe("r")


# The quiet start and catch-up


def test_the_quiet_start_holds_entries_and_names_their_rooms_at_its_end() -> None:
    delivery = delivering(r=4, s=1, t=0)
    delivery.start_quietly(now=10)
    assert delivery.new_entry("r", 5, "five", now=10.1) == NewEntry()
    assert delivery.new_entry("s", 2, "two", now=10.1) == NewEntry()
    delivery.resume("s", 2)  # the client's resume covers this room itself
    assert not delivery.quiet_start_over(10.5, grace=1)
    assert delivery.quiet_start_over(11, grace=1)
    assert delivery.end_quiet_start() == ["r"]
    assert not delivery.in_quiet_start


def test_a_long_outage_skips_to_the_last_seq_and_reports_the_gap() -> None:
    delivery = delivering(r=85)
    assert delivery.skip_to("r", after=85, last_seq=1096, limit=1000)
    assert delivery.cursors["r"] == 1096


def test_a_short_outage_is_replayed() -> None:
    delivery = delivering(r=85)
    assert not delivery.skip_to("r", after=85, last_seq=1085, limit=1000)
    assert not delivery.skip_to("r", after=85, last_seq=5000, limit=None)
    assert delivery.cursors["r"] == 85


def test_a_cursor_ahead_of_the_room_is_reset_to_its_last_seq() -> None:
    delivery = delivering(r=0)
    delivery.resume("r", 50)
    assert delivery.caught_up("r", last_seq=12, page_was_empty=True) == 12
    assert delivery.cursors["r"] == 12


def test_catching_up_moves_the_cursor_entry_by_entry() -> None:
    delivery = delivering(r=3)
    delivery.sent("r", 4)
    delivery.sent("r", 5)
    assert delivery.caught_up("r", last_seq=5, page_was_empty=False) == 5


def test_after_a_layer_reconnect_every_room_is_read_and_nothing_stays_held() -> None:
    delivery = delivering(r=4, s=0)
    delivery.start_quietly(now=0)
    delivery.early["r"] = {6: "six"}
    assert sorted(delivery.layer_recovered()) == ["r", "s"]
    assert not delivery.in_quiet_start and not delivery.early


def test_rooms_behind_are_read_unless_the_quiet_start_reads_them_anyway() -> None:
    delivery = delivering(r=4, s=0)
    delivery.new_entry("r", 6, "six", now=0)
    assert delivery.behind(["r", "gone"]) == ["r"]
    assert "r" not in delivery.early
    delivery.start_quietly(now=0)
    assert delivery.behind(["r"]) == []
