"""Fixtures shared by the accounts tests."""

from collections.abc import Iterator
from typing import Any

import pytest

from accounts.signals import access_revoked


@pytest.fixture
def announced() -> Iterator[list[dict[str, Any]]]:
    """What access_revoked announces during the test, as keyword arguments."""
    heard: list[dict[str, Any]] = []

    def listen(sender: object, **kwargs: Any) -> None:
        kwargs.pop("signal")
        heard.append(kwargs)

    access_revoked.connect(listen, dispatch_uid="tests_accounts_announced")
    yield heard
    access_revoked.disconnect(dispatch_uid="tests_accounts_announced")
