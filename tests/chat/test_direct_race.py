"""direct_open under real concurrency: two people open the same conversation at the same moment.

Each thread has its own database connection; a barrier lines the two calls up every round.
"""

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from accounts.models import User
from chat.models import Membership, Room
from chat.services.direct import direct_open
from tests.factories import UserFactory

ROUNDS = 50
BARRIER_TIMEOUT = 60


def _race(
    rounds: int, call: Callable[[int, int], int]
) -> tuple[list[list[int]], list[BaseException]]:
    """Two threads; in each round both run `call(thread, round)` together. Returns their results."""
    barrier = threading.Barrier(2, timeout=BARRIER_TIMEOUT)
    results: list[list[int]] = [[], []]
    errors: list[BaseException] = []

    def run(thread: int) -> None:
        try:
            for round_ in range(rounds):
                barrier.wait()
                results[thread].append(call(thread, round_))
        except BaseException as error:  # every failure is asserted on below
            errors.append(error)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)
    return results, errors


def _conversations_between(first: User, second: User) -> list[int]:
    return list(
        Room.objects.filter(kind=Room.Kind.DIRECT, memberships__user=first)
        .filter(memberships__user=second)
        .values_list("pk", flat=True)
    )


def _open_from_either_side(pairs: list[tuple[User, User]]) -> Callable[[int, int], int]:
    """Thread 0 opens as the first user of the round's pair, thread 1 as the second."""

    def call(thread: int, round_: int) -> int:
        first, second = pairs[round_]
        user, other = (first, second) if thread == 0 else (second, first)
        return direct_open(user, username=other.username).pk

    return call


@pytest.mark.django_db(transaction=True)
def test_simultaneous_opens_by_a_fresh_pair_create_one_conversation_each_time() -> None:
    pairs = [(UserFactory(), UserFactory()) for _ in range(ROUNDS)]

    results, errors = _race(ROUNDS, _open_from_either_side(pairs))

    assert errors == []
    assert Room.objects.filter(kind=Room.Kind.DIRECT).count() == ROUNDS
    for round_, (first, second) in enumerate(pairs):
        (room_pk,) = _conversations_between(first, second)
        assert results[0][round_] == results[1][round_] == room_pk
        assert set(Membership.objects.filter(room_id=room_pk).values_list("user", flat=True)) == {
            first.pk,
            second.pk,
        }


@pytest.mark.django_db(transaction=True)
def test_simultaneous_opens_by_the_same_pair_always_return_its_one_conversation() -> None:
    alice, bob = UserFactory(), UserFactory()

    results, errors = _race(ROUNDS, _open_from_either_side([(alice, bob)] * ROUNDS))

    assert errors == []
    (room_pk,) = _conversations_between(alice, bob)
    assert Room.objects.filter(kind=Room.Kind.DIRECT).count() == 1
    assert results == [[room_pk] * ROUNDS, [room_pk] * ROUNDS]
    assert Membership.objects.filter(room_id=room_pk).count() == 2
