"""Property-based checks of the API against docs/openapi.yaml, with schemathesis.

Every operation gets generated requests, valid ones and deliberately invalid ones, sent through
Django's WSGI application in this process as a token user who has rooms, messages and a
conversation. About half of the requests name that user's real room, message and token instead
of generated ids, so they reach the services rather than stopping at `room_not_found`. Each
response must not be a server error and must match the schema: a documented status, the
documented content type, and a body of the documented shape; a request the schema does not
allow must be refused with a 4xx.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import AccessToken, User
from accounts.tokens import token_create
from chat.models import Membership, Room
from chat.services.direct import direct_open
from chat.services.messages import message_post
from chat.services.rooms import room_join
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db

DOCUMENTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


class KeepConnection:
    """Django's WSGI application, minus closing the database connection after each request:
    the test's transaction lives on that connection (Django's test client does the same)."""

    def __init__(self) -> None:
        self.application = get_wsgi_application()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = self.application(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                response.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


SCHEMA = schemathesis.openapi.from_path(DOCUMENTED)
SCHEMA.app = KeepConnection()
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Operations without anything a request could get wrong: no negative examples exist.
TAKES_NOTHING = {"GET /api/v1/version"}
# Examples per operation and mode: 18 operations x 2 modes x this, at a few ms per request.
EXAMPLES = 15


@dataclass
class World:
    user: User
    room: Room
    seq: int
    spare_token_id: int
    token: AccessToken | None = None
    authorization: str = ""

    def restore(self) -> None:
        """Undo what an earlier example may have done to the user's access and membership."""
        if (
            self.token is None
            or not AccessToken.objects.filter(pk=self.token.pk, revoked_at=None).exists()
        ):
            self.token, plain = token_create(self.user, name="schemathesis")
            self.authorization = f"Bearer {plain}"
        if not Membership.objects.filter(room=self.room, user=self.user).exists():
            room_join(self.user, room_id=self.room.public_id)

    def real_path_parameters(self) -> dict[str, object]:
        return {
            "room_id": str(self.room.public_id),
            "seq": self.seq,
            "token_id": self.spare_token_id,
            "emoji": "👍",
            "username": "bob",
        }


@pytest.fixture
def world() -> World:
    user = UserFactory(username="tester")
    bob = UserFactory(username="bob")
    room = make_room(user, name="Lobby", members=[bob])
    make_room(name="Elsewhere", members=[user])
    message_post(bob, room_id=room.public_id, body="hello")
    mine = message_post(user, room_id=room.public_id, body="mine", client_id="first")
    direct_open(user, username="bob")
    spare, _ = token_create(user, name="spare")
    return World(user=user, room=room, seq=mine.seq, spare_token_id=spare.pk)


def strategy_for(operation: Any, mode: GenerationMode, world: World) -> st.SearchStrategy:
    """Generated requests, and as many again that name the user's real room, message or token.

    A negative request with real ids still has something wrong with it: its body or query.
    """
    strategies = [operation.as_strategy(generation_mode=mode)]
    names = [parameter.name for parameter in operation.path_parameters]
    negatable = operation.body or list(operation.query)
    if names and (mode == GenerationMode.POSITIVE or negatable):
        real = {name: world.real_path_parameters()[name] for name in names}
        strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=real))
    return st.one_of(strategies)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_responses_conform_to_the_schema(world: World, operation: Any, mode: Any) -> None:
    if mode == GenerationMode.NEGATIVE and operation.label in TAKES_NOTHING:
        pytest.skip("no parameters, no body, no authentication required: nothing to get wrong")
    checks = CHECKS + ([negative_data_rejection] if mode == GenerationMode.NEGATIVE else [])

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy_for(operation, mode, world))
    def check(case: schemathesis.Case) -> None:
        world.restore()
        case.call_and_validate(headers={"Authorization": world.authorization}, checks=checks)

    world.restore()
    check()
