"""accounts.throttle: password guesses and sign-ups limited per account and per address, refused
before any hashing, at /accounts/login/, /admin/login/ and /accounts/signup/.

Tests that move the clock count in this process (REDIS_URL off: Redis' clock cannot be moved);
the last ones run against Redis when REDIS_URL is set, as CI's PostgreSQL + Redis run does.
"""

import re
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client, RequestFactory
from django.urls import reverse
from prometheus_client import REGISTRY

from accounts.models import User
from accounts.throttle import check_password_attempt, check_sign_up, client_address
from core import ratelimit
from core.errors import RateLimited
from tests.factories import PASSWORD, UserFactory
from tests.limits import Clock

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.7"
OTHER = "198.51.100.20"
STRONG_PASSWORD = "violet-anchor-71-tundra"


class CountingHasher(MD5PasswordHasher):
    """A fast hasher that counts the passwords it hashes, to store or to verify (its verify
    hashes through encode)."""

    calls = 0

    def encode(self, password: str, salt: str) -> str:
        CountingHasher.calls += 1
        return super().encode(password, salt)


@pytest.fixture(autouse=True)
def _counting_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]


@pytest.fixture
def limits(settings: Any) -> Any:
    """Small limits: 5 guesses per account and 20 per address at once, then one a minute."""
    settings.PARLEY_LOGIN_ACCOUNT_BURST = 5
    settings.PARLEY_LOGIN_ACCOUNT_PER_MINUTE = 1
    settings.PARLEY_LOGIN_ADDRESS_BURST = 20
    settings.PARLEY_LOGIN_ADDRESS_PER_MINUTE = 1
    settings.PARLEY_SIGNUP_ADDRESS_BURST = 2
    settings.PARLEY_SIGNUP_ADDRESS_PER_MINUTE = 1
    return settings


@pytest.fixture
def clock(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Clock:
    settings.REDIS_URL = ""
    return Clock(monkeypatch)


@pytest.fixture
def alice() -> User:
    user = UserFactory(username="alice")
    CountingHasher.calls = 0
    return user


def log_in(username: str, password: str, address: str = ATTACKER, path: str = "/accounts/login/"):
    return Client(REMOTE_ADDR=address).post(path, {"username": username, "password": password})


def refused(response: Any) -> int | None:
    """Retry-After of a refused log-in page (429 with the message), None if not refused."""
    if response.status_code != 429:
        return None
    text = response.content.decode()
    wait = re.search(r"Too many attempts: try again in (\d+) s", text)
    assert wait, text
    assert response["Retry-After"] == wait.group(1)
    return int(wait.group(1))


def logged_in(response: Any) -> bool:
    return response.status_code == 302


def limited(limit: str) -> float:
    return REGISTRY.get_sample_value("parley_rate_limited_total", {"limit": limit}) or 0.0


# Log-in, per account


def test_200_wrong_passwords_are_refused_after_the_burst_without_hashing(
    alice: User, limits: Any, clock: Clock, settings: Any
) -> None:
    settings.PARLEY_LOGIN_ADDRESS_BURST = 1000  # the account's limit alone
    before = limited("login-account")

    answers = [log_in("alice", f"guess-{n}") for n in range(200)]

    assert [answer.status_code for answer in answers[:5]] == [200] * 5
    assert all(refused(answer) == 60 for answer in answers[5:])
    assert CountingHasher.calls == 5
    assert limited("login-account") == before + 195


def test_the_right_password_is_refused_while_throttled_then_works_after_the_wait(
    alice: User, limits: Any, clock: Clock
) -> None:
    for n in range(5):
        log_in("alice", f"guess-{n}")
    hashed = CountingHasher.calls

    wait = refused(log_in("alice", PASSWORD))
    assert wait == 60
    assert CountingHasher.calls == hashed

    clock.advance(wait - 1)
    assert refused(log_in("alice", PASSWORD)) == 1
    clock.advance(1)
    assert logged_in(log_in("alice", PASSWORD))


def test_the_account_counts_however_its_name_is_written(
    alice: User, limits: Any, clock: Clock
) -> None:
    spellings = ["alice", "ALICE", "Alice", "\uff41\uff4c\uff49\uff43\uff45", "aLiCe"]
    for spelling in spellings:
        assert log_in(spelling, "wrong").status_code == 200

    assert refused(log_in("alice", "wrong"))


def test_a_right_password_gives_its_guess_back(
    alice: User, limits: Any, clock: Clock, settings: Any
) -> None:
    settings.PARLEY_LOGIN_ACCOUNT_BURST = 2

    assert log_in("alice", "wrong").status_code == 200
    assert logged_in(log_in("alice", PASSWORD))
    assert log_in("alice", "wrong").status_code == 200
    assert refused(log_in("alice", "wrong"))


def test_unknown_accounts_are_counted_too(limits: Any, clock: Clock) -> None:
    for _ in range(5):
        assert log_in("nobody", "wrong").status_code == 200
    hashed = CountingHasher.calls

    assert refused(log_in("nobody", "wrong"))
    assert CountingHasher.calls == hashed


# Log-in, per address


def test_one_address_is_limited_across_usernames(limits: Any, clock: Clock) -> None:
    for n in range(20):
        assert log_in(f"user{n}", "wrong").status_code == 200
    hashed = CountingHasher.calls

    assert refused(log_in("someone-else", "wrong"))
    assert CountingHasher.calls == hashed
    assert log_in("someone-else", "wrong", address=OTHER).status_code == 200


def test_an_ipv6_client_counts_by_its_64(limits: Any, clock: Clock, settings: Any) -> None:
    settings.PARLEY_LOGIN_ADDRESS_BURST = 2

    assert log_in("a", "wrong", address="2001:db8:1:2::1").status_code == 200
    assert log_in("b", "wrong", address="2001:db8:1:2:ffff::9").status_code == 200
    assert refused(log_in("c", "wrong", address="2001:db8:1:2::77"))
    assert log_in("d", "wrong", address="2001:db8:1:3::1").status_code == 200


def test_a_client_refused_by_its_address_does_not_use_up_the_account(
    alice: User, limits: Any, clock: Clock, settings: Any
) -> None:
    settings.PARLEY_LOGIN_ACCOUNT_BURST = 3
    settings.PARLEY_LOGIN_ADDRESS_BURST = 1

    assert log_in("alice", "wrong").status_code == 200
    assert all(refused(log_in("alice", "wrong")) for _ in range(10))

    # Each other address has its one guess; the account has two left of three.
    assert log_in("alice", "wrong", address=OTHER).status_code == 200
    assert logged_in(log_in("alice", PASSWORD, address="192.0.2.1"))


def test_client_addresses() -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="2001:db8::5")
    assert client_address(request) == "2001:db8::/64"
    assert client_address("::ffff:203.0.113.7") == "203.0.113.7"
    assert client_address("203.0.113.7") == "203.0.113.7"
    assert client_address(None) is None
    assert client_address("") is None


# The admin


def test_the_admin_log_in_is_limited_with_the_same_allowance(
    limits: Any, clock: Clock, settings: Any
) -> None:
    UserFactory(username="root", is_staff=True, is_superuser=True)
    CountingHasher.calls = 0

    for n in range(3):
        assert log_in("root", f"guess-{n}").status_code == 200
    for n in range(2):
        assert log_in("root", f"guess-{n}", path="/admin/login/").status_code == 200
    hashed = CountingHasher.calls

    answer = log_in("root", PASSWORD, path="/admin/login/")
    wait = refused(answer)
    assert wait == 60
    assert CountingHasher.calls == hashed

    clock.advance(wait)
    assert logged_in(log_in("root", PASSWORD, path="/admin/login/"))


def test_the_admin_log_in_page_still_works(limits: Any, clock: Clock) -> None:
    UserFactory(username="root", is_staff=True, is_superuser=True)
    assert Client().get("/admin/login/").status_code == 200
    answer = log_in("root", PASSWORD, path="/admin/login/?next=/admin/")
    assert answer.status_code == 302
    assert answer.url == "/admin/"


# Sign-up, per address


def sign_up(username: str, address: str = ATTACKER) -> Any:
    data = {
        "username": username,
        "display_name": "",
        "password1": STRONG_PASSWORD,
        "password2": STRONG_PASSWORD,
    }
    return Client(REMOTE_ADDR=address).post(reverse("sign_up"), data)


def test_sign_ups_from_one_address_are_limited(limits: Any, clock: Clock) -> None:
    assert sign_up("first").status_code == 302
    assert sign_up("second").status_code == 302
    hashed = CountingHasher.calls

    answer = sign_up("third")

    assert refused(answer) == 60
    assert not User.objects.filter(username="third").exists()
    assert CountingHasher.calls == hashed
    assert 'value="third"' in answer.content.decode()  # what was typed stays
    assert sign_up("third", address=OTHER).status_code == 302
    clock.advance(60)
    assert sign_up("fourth").status_code == 302


# The function the token code calls


def test_check_password_attempt_raises_rate_limited_with_the_wait(
    limits: Any, clock: Clock, settings: Any
) -> None:
    settings.PARLEY_LOGIN_ACCOUNT_BURST = 2
    request = RequestFactory().post("/", REMOTE_ADDR=ATTACKER)

    check_password_attempt(request, "alice")
    check_password_attempt(ATTACKER, "alice")
    with pytest.raises(RateLimited) as refusal:
        check_password_attempt(None, "Alice")

    assert refusal.value.code == "rate_limited"
    assert refusal.value.retry_after == 60
    assert refusal.value.message == "Too many attempts: try again in 60 s."


def test_succeeded_gives_the_attempt_back(limits: Any, clock: Clock, settings: Any) -> None:
    settings.PARLEY_LOGIN_ACCOUNT_BURST = 1

    check_password_attempt(ATTACKER, "alice").succeeded()
    attempt = check_password_attempt(ATTACKER, "alice")

    with pytest.raises(RateLimited):
        check_password_attempt(ATTACKER, "alice")
    attempt.succeeded()
    check_password_attempt(ATTACKER, "alice")


def test_a_burst_of_0_turns_a_limit_off(limits: Any, clock: Clock, settings: Any) -> None:
    settings.PARLEY_LOGIN_ACCOUNT_BURST = 0
    settings.PARLEY_LOGIN_ADDRESS_BURST = 0
    settings.PARLEY_SIGNUP_ADDRESS_BURST = 0

    for _ in range(50):
        check_password_attempt(ATTACKER, "alice")
        check_sign_up(ATTACKER)


# Shared through Redis

needs_redis = pytest.mark.skipif(
    not django_settings.REDIS_URL, reason="needs Redis (set REDIS_URL=redis://...)"
)


@needs_redis
def test_guesses_are_counted_in_redis_for_every_process(alice: User, limits: Any) -> None:
    for n in range(5):
        assert log_in("alice", f"guess-{n}").status_code == 200

    # Another process has none of this one's counters: it asks Redis.
    ratelimit.reset_local()
    assert refused(log_in("alice", PASSWORD))
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    keys = client.keys(f"{django_settings.PARLEY_RATELIMIT_PREFIX}:login-*")
    assert {key.decode().split(":")[-2] for key in keys} == {"login-account", "login-address"}


@needs_redis
def test_a_right_password_is_given_back_in_redis(alice: User, limits: Any, settings: Any) -> None:
    settings.PARLEY_LOGIN_ACCOUNT_BURST = 2

    assert log_in("alice", "wrong").status_code == 200
    assert logged_in(log_in("alice", PASSWORD))
    ratelimit.reset_local()
    assert log_in("alice", "wrong").status_code == 200
    assert refused(log_in("alice", "wrong"))
