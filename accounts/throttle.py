"""Limits on guessing passwords and on making accounts, shared by every process (core.ratelimit).

A password guess counts against the account tried and against the client's address, and is
refused before the password is hashed: hashing is what makes a flood of guesses expensive
(0.5-0.9 s of CPU each). The count is taken before the check, so guesses sent at once cannot
slip past it; a guess that proves right gives its unit back, so a user who logs in, or an
office behind one address, is not charged for it. Sign-ups count per address.

Settings: PARLEY_LOGIN_{ACCOUNT,ADDRESS}_{BURST,PER_MINUTE} and PARLEY_SIGNUP_ADDRESS_*; a
burst of 0 turns that limit off.
"""

import hashlib
import math
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

from core import ratelimit
from core.errors import RateLimited


@dataclass(frozen=True)
class _Limit:
    key: str
    per_minute: float
    burst: int

    @property
    def rate(self) -> float:
        return self.per_minute / 60

    def take(self) -> None:
        ratelimit.take(self.key, rate=self.rate, burst=self.burst)

    def give_back(self) -> None:
        ratelimit.give_back(self.key, rate=self.rate)


@dataclass(frozen=True)
class PasswordAttempt:
    """One counted password guess; `succeeded()` once the password proved right."""

    limits: tuple[_Limit, ...]

    def succeeded(self) -> None:
        """Give the guess back: a right password is not an attack on anyone's."""
        for limit in self.limits:
            limit.give_back()


def too_many_attempts(retry_after: float) -> str:
    return f"Too many attempts: try again in {retry_seconds(retry_after)} s."


def retry_seconds(retry_after: float) -> int:
    """Whole seconds to wait (for the page and Retry-After), never 0."""
    return max(1, math.ceil(retry_after))


def client_address(request_or_address: HttpRequest | str | None) -> str | None:
    """The client a request counts as: REMOTE_ADDR, an IPv6 address by its /64.

    Behind the proxy, uvicorn's proxy headers (FORWARDED_ALLOW_IPS) have put the real client
    there. None when unknown: such requests are counted per account only.
    """
    if isinstance(request_or_address, HttpRequest):
        address = request_or_address.META.get("REMOTE_ADDR")
    else:
        address = request_or_address
    return ratelimit.address_key(address) if address else None


def account_key(username: str) -> str:
    """The account a guess is against, as logging in finds it (NFKC, any case), hashed: the
    key's length is bounded and Redis holds no usernames."""
    normalized = unicodedata.normalize("NFKC", username).casefold()
    return hashlib.sha256(normalized.encode()).hexdigest()[:32]


def check_password_attempt(
    request_or_address: HttpRequest | str | None, username: str
) -> PasswordAttempt:
    """Count one guess of `username`'s password from this client, before checking it.

    Raises RateLimited (with `retry_after` in seconds and a "Too many attempts" message) when
    the client's address or the account is over its limit. Call it before the password is
    hashed; call `succeeded()` on the result when the password was right.
    """
    taken: list[_Limit] = []
    address = client_address(request_or_address)
    candidates = []
    # The address first: a client over its own limit must not use up the account's allowance
    # of the user it is guessing at.
    if address is not None:
        candidates.append(
            _Limit(
                f"login-address:{address}",
                settings.PARLEY_LOGIN_ADDRESS_PER_MINUTE,
                settings.PARLEY_LOGIN_ADDRESS_BURST,
            )
        )
    candidates.append(
        _Limit(
            f"login-account:{account_key(username)}",
            settings.PARLEY_LOGIN_ACCOUNT_PER_MINUTE,
            settings.PARLEY_LOGIN_ACCOUNT_BURST,
        )
    )
    for limit in candidates:
        if limit.burst <= 0:
            continue
        _take_or_refuse(limit)
        taken.append(limit)
    return PasswordAttempt(tuple(taken))


def check_sign_up(request_or_address: HttpRequest | str | None) -> None:
    """Count one sign-up from this client; RateLimited when its address is over the limit."""
    address = client_address(request_or_address)
    if address is None or settings.PARLEY_SIGNUP_ADDRESS_BURST <= 0:
        return
    _take_or_refuse(
        _Limit(
            f"signup:{address}",
            settings.PARLEY_SIGNUP_ADDRESS_PER_MINUTE,
            settings.PARLEY_SIGNUP_ADDRESS_BURST,
        )
    )


def _take_or_refuse(limit: "_Limit") -> None:
    """Spend one unit of `limit`, or RateLimited with the "Too many attempts" message."""
    try:
        limit.take()
    except RateLimited as refused:
        raise RateLimited(
            too_many_attempts(refused.retry_after), retry_after=refused.retry_after
        ) from None
