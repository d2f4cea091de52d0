"""Helpers for tests of core.ratelimit's limits: its clock, and which store counts."""

from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings as django_settings

from core import ratelimit

# Each limit test runs twice: counted in this process, and in Redis when the run has it.
STORES = ["in-process", "redis"]


def count_in(store: str, settings: Any) -> str:
    """Make the limiter count in `store` (one of STORES) for this test; skips Redis without it."""
    if store == "redis":
        if not django_settings.REDIS_URL:
            pytest.skip("needs Redis (set REDIS_URL=redis://...)")
    else:
        settings.REDIS_URL = ""
    return store


class Clock:
    """The limiter's clock, moved by the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1000.0
        monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=lambda: self.now))

    def advance(self, seconds: float) -> None:
        self.now += seconds
