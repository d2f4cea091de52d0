"""A room's timeline: history pages, posting, editing, deleting, and read markers."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from api.serializers import (
    HistoryOut,
    HistoryQuery,
    MessageEditIn,
    MessageEnvelopeOut,
    MessagePostIn,
    ReadMarkIn,
    ReadOut,
)
from api.views.common import ERRORS, WRITE_ERRORS, ApiView, AuthenticatedRequest, parse
from chat import wire
from chat.models import Message
from chat.selectors.messages import history_page
from chat.selectors.sidebar import unread_count, unread_mention_count
from chat.services.messages import message_delete, message_edit, message_post
from chat.services.reads import read_mark


def envelope(message: Message) -> dict:
    return {"room": message.room.public_id, "message": wire.message_data(message)}


class MessagesView(ApiView):
    @extend_schema(
        parameters=[
            OpenApiParameter("before", int, description="Messages with a seq below this"),
            OpenApiParameter("after", int, description="Messages with a seq above this"),
            OpenApiParameter(
                "around",
                int,
                description="The message with this seq and about half a page on each side "
                "(not with before or after); the page then says has_more_after too",
            ),
            OpenApiParameter("limit", int, description="Page size (default 50, at most 200)"),
        ],
        responses={200: HistoryOut, **ERRORS},
        tags=["messages"],
        summary="A page of the timeline, in seq order: the newest, or before/after/around a seq",
    )
    def get(self, request: AuthenticatedRequest, room_id: str) -> Response:
        query = parse(HistoryQuery, request.query_params.dict())
        page = history_page(request.user, room_id=room_id, **query)
        body = {
            "room": page.room.public_id,
            "messages": [wire.message_data(message) for message in page.messages],
            "has_more": page.has_more,
        }
        if page.has_more_after is not None:
            body["has_more_after"] = page.has_more_after
        return Response(body)

    @extend_schema(
        request=MessagePostIn,
        responses={201: MessageEnvelopeOut, **WRITE_ERRORS},
        tags=["messages"],
        summary="Post a message, with files uploaded to the room; a retry with the same "
        "client_id returns the first one",
    )
    def post(self, request: AuthenticatedRequest, room_id: str) -> Response:
        data = parse(MessagePostIn, request.data)
        message = message_post(
            request.user,
            room_id=room_id,
            body=data.get("body"),
            client_id=data.get("client_id"),
            attachments=data.get("attachments"),
            reply_to=data.get("reply_to"),
        )
        return Response(envelope(message), status=status.HTTP_201_CREATED)


class MessageView(ApiView):
    @extend_schema(
        request=MessageEditIn,
        responses={200: MessageEnvelopeOut, **WRITE_ERRORS},
        tags=["messages"],
    )
    def patch(self, request: AuthenticatedRequest, room_id: str, seq: int) -> Response:
        data = parse(MessageEditIn, request.data)
        return Response(
            envelope(message_edit(request.user, room_id=room_id, seq=seq, body=data["body"]))
        )

    @extend_schema(responses={200: MessageEnvelopeOut, **WRITE_ERRORS}, tags=["messages"])
    def delete(self, request: AuthenticatedRequest, room_id: str, seq: int) -> Response:
        return Response(envelope(message_delete(request.user, room_id=room_id, seq=seq)))


class ReadView(ApiView):
    @extend_schema(request=ReadMarkIn, responses={200: ReadOut, **WRITE_ERRORS}, tags=["messages"])
    def post(self, request: AuthenticatedRequest, room_id: str) -> Response:
        data = parse(ReadMarkIn, request.data)
        membership = read_mark(request.user, room_id=room_id, seq=data["seq"])
        return Response(
            {
                "room": membership.room.public_id,
                "last_read_seq": membership.last_read_seq,
                "unread": unread_count(request.user, membership.room, membership.last_read_seq),
                "unread_mentions": unread_mention_count(
                    request.user, membership.room, membership.last_read_seq
                ),
            }
        )
