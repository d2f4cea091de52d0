"""The example client in examples/ works against a real server, as the README says."""

import subprocess
import sys

import pytest

from accounts.tokens import token_create
from chat.models import Message
from tests.e2e.servers import ROOT, running_server
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db(transaction=True)


def test_example_client_sends_over_the_api_and_receives_over_the_socket(tmp_path) -> None:
    bot = UserFactory(username="helpbot")
    make_room(name="Support")
    _, token = token_create(bot, name="example")
    with running_server(tmp_path) as server:
        result = subprocess.run(  # noqa: S603 - our own example with our own arguments
            [
                sys.executable,
                str(ROOT / "examples" / "parley_client.py"),
                "--url",
                server.origin,
                "--token",
                token,
                "--room",
                "support",
                "--message",
                "beep <boop>",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Delivered live: #" in result.stdout
    assert "beep <boop>" in result.stdout
    assert Message.objects.filter(author=bot, body="beep <boop>").count() == 1
