"""core.ratelimit: the GCRA answers what is left of an allowance, in this process and in Redis.

Tests that move the clock count in this process (Redis' clock cannot be moved); the rest run
both ways, in Redis when REDIS_URL is set (CI's PostgreSQL + Redis run).
"""

from typing import Any

import pytest

from core import ratelimit
from core.errors import RateLimited
from tests.limits import STORES, Clock, count_in

RATE = 0.1  # one unit per 10 s
BURST = 3


@pytest.fixture(params=STORES)
def counting(request: pytest.FixtureRequest, settings: Any) -> str:
    return count_in(request.param, settings)


@pytest.fixture
def clock(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Clock:
    settings.REDIS_URL = ""
    return Clock(monkeypatch)


def spend() -> ratelimit.Allowance:
    return ratelimit.spend("test:key", rate=RATE, burst=BURST)


def test_spending_says_what_is_left_and_when_it_is_full(counting: str) -> None:
    answers = [spend() for _ in range(BURST)]

    assert [answer.allowed for answer in answers] == [True] * BURST
    assert [answer.remaining for answer in answers] == [2, 1, 0]
    assert [answer.reset_seconds for answer in answers] == [10, 20, 30]
    assert {answer.limit for answer in answers} == {BURST}
    assert {answer.retry_after for answer in answers} == {0}


def test_past_the_burst_it_is_refused_with_the_wait_and_nothing_spent(counting: str) -> None:
    for _ in range(BURST):
        spend()

    refused = [spend(), spend()]

    assert [answer.allowed for answer in refused] == [False, False]
    assert [answer.remaining for answer in refused] == [0, 0]
    assert all(9 < answer.retry_after <= 10 for answer in refused)
    assert all(answer.reset_seconds == 30 for answer in refused)


def test_take_still_raises_past_the_burst_and_returns_the_allowance(counting: str) -> None:
    first = ratelimit.take("test:take", rate=RATE, burst=1)

    assert first.remaining == 0
    with pytest.raises(RateLimited) as refused:
        ratelimit.take("test:take", rate=RATE, burst=1)
    assert 9 < refused.value.retry_after <= 10


def test_giving_back_restores_a_unit(counting: str) -> None:
    spend()
    spend()
    ratelimit.give_back("test:key", rate=RATE)

    assert spend().remaining == 1


def test_keys_are_counted_apart(counting: str) -> None:
    for _ in range(BURST):
        spend()

    assert ratelimit.spend("test:other", rate=RATE, burst=BURST).remaining == BURST - 1


def test_the_allowance_refills_with_time(clock: Clock) -> None:
    for _ in range(BURST):
        spend()

    clock.advance(10)
    refilled = spend()
    clock.advance(30)
    full_again = spend()

    assert (refilled.allowed, refilled.remaining, refilled.reset_seconds) == (True, 0, 30)
    assert (full_again.remaining, full_again.reset_seconds) == (BURST - 1, 10)


def test_fractional_intervals_do_not_lose_a_unit_to_rounding(clock: Clock) -> None:
    """Three a second: 333.33 ms each, where floats are a hair off whole units."""
    answers = [ratelimit.spend("test:thirds", rate=3, burst=100) for _ in range(100)]

    assert [answer.remaining for answer in answers] == list(range(99, -1, -1))
    assert answers[-1].reset_seconds == 34
