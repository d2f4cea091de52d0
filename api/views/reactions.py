"""Reactions to a message: adding and removing the user's own emoji."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from api.serializers import ReactionsOut
from api.views.common import WRITE_ERRORS, ApiView, AuthenticatedRequest
from chat import wire
from chat.models import Message
from chat.services.reactions import reaction_add, reaction_remove
from core.errors import InvalidInput

EMOJI = OpenApiParameter(
    "emoji",
    str,
    OpenApiParameter.PATH,
    description="One emoji, percent-encoded as UTF-8 (👍 is %F0%9F%91%8D)",
)


def reactions(message: Message) -> dict:
    return {
        "room": message.room.public_id,
        "seq": message.seq,
        "reactions": wire.reactions_data(message.reaction_list),
    }


class ReactionView(ApiView):
    @extend_schema(
        parameters=[EMOJI],
        request=None,
        responses={200: ReactionsOut, **WRITE_ERRORS},
        tags=["messages"],
        summary="React to a message with an emoji; reacting again with it changes nothing",
    )
    def put(self, request: AuthenticatedRequest, room_id: str, seq: int, emoji: str) -> Response:
        # The emoji is in the path; a body is read (bad JSON is refused as everywhere) and must
        # say nothing, so no field is silently ignored.
        if request.data:
            fields = request.data if isinstance(request.data, dict) else {}
            raise InvalidInput(
                "This request takes no body: the emoji is in the path.",
                **{str(field): "Unknown field." for field in fields},
            )
        return Response(
            reactions(reaction_add(request.user, room_id=room_id, seq=seq, emoji=emoji))
        )

    @extend_schema(
        parameters=[EMOJI],
        responses={200: ReactionsOut, **WRITE_ERRORS},
        tags=["messages"],
        summary="Take your emoji off a message; taking off one that is not there changes nothing",
    )
    def delete(self, request: AuthenticatedRequest, room_id: str, seq: int, emoji: str) -> Response:
        return Response(
            reactions(reaction_remove(request.user, room_id=room_id, seq=seq, emoji=emoji))
        )
