"""Rooms and conversations: adapters over chat.services and chat.selectors."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from api.serializers import (
    ConversationOpenIn,
    MembersOut,
    MyRoomListOut,
    PageQuery,
    RoomCreateIn,
    RoomListOut,
    RoomOut,
    SeqOut,
)
from api.views.common import ERRORS, WRITE_ERRORS, ApiView, AuthenticatedRequest, parse
from chat import wire
from chat.models import Room
from chat.selectors.access import room_for_user
from chat.selectors.members import room_members_with_presence
from chat.selectors.rooms import direct_peer, rooms_directory_page
from chat.selectors.sidebar import rooms_with_state
from chat.services.direct import direct_open
from chat.services.rooms import room_create, room_join, room_leave


def directory_entry(room: Room) -> dict[str, Any]:
    """A room of `rooms_directory` as the directory lists it.

    The selector annotates `is_member` and `member_count` on each row; they are not fields of
    Room, so the type checker cannot see them as attributes and they are read, typed, here.
    """
    annotated = vars(room)
    is_member: bool = annotated["is_member"]
    member_count: int = annotated["member_count"]
    return {**wire.room_data(room), "is_member": is_member, "member_count": member_count}


class RoomsView(ApiView):
    @extend_schema(
        parameters=[PageQuery],
        responses={200: RoomListOut, **ERRORS},
        tags=["rooms"],
        operation_id="rooms_list",
        summary="Group rooms you can see (the directory), by name",
        description=(
            "Open group rooms you may see: public ones, invite-only ones you are in, staff-only "
            "ones if you are staff. Paged by cursor: pass `next_cursor` back as `cursor` until "
            "it is null. A cursor this list did not hand out or `limit` outside 1..100 is 400 "
            "`invalid`."
        ),
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        query = parse(PageQuery, request.query_params.dict())
        page = rooms_directory_page(request.user, cursor=query.get("cursor"), limit=query["limit"])
        return Response(
            {
                "results": [directory_entry(room) for room in page.rows],
                "next_cursor": page.next_cursor,
            }
        )

    @extend_schema(request=RoomCreateIn, responses={201: RoomOut, **WRITE_ERRORS}, tags=["rooms"])
    def post(self, request: AuthenticatedRequest) -> Response:
        data = parse(RoomCreateIn, request.data)
        room = room_create(request.user, name=data["name"], visibility=data["visibility"])
        return Response(wire.room_data(room), status=status.HTTP_201_CREATED)


class MyRoomsView(ApiView):
    @extend_schema(
        responses={200: MyRoomListOut, **ERRORS},
        tags=["rooms"],
        summary="Your rooms and conversations, latest activity first, with unread counts",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response({"results": rooms_with_state(request.user)})


class RoomView(ApiView):
    @extend_schema(responses={200: RoomOut, **ERRORS}, tags=["rooms"])
    def get(self, request: AuthenticatedRequest, room_id: str) -> Response:
        room = room_for_user(request.user, room_id)
        return Response(wire.room_data(room, peer=direct_peer(request.user, room)))


class RoomJoinView(ApiView):
    @extend_schema(request=None, responses={200: SeqOut, **WRITE_ERRORS}, tags=["rooms"])
    def post(self, request: AuthenticatedRequest, room_id: str) -> Response:
        membership = room_join(request.user, room_id=room_id)
        return Response({"room": membership.room.public_id, "seq": membership.last_read_seq})


class RoomLeaveView(ApiView):
    @extend_schema(request=None, responses={200: SeqOut, **WRITE_ERRORS}, tags=["rooms"])
    def post(self, request: AuthenticatedRequest, room_id: str) -> Response:
        line = room_leave(request.user, room_id=room_id)
        return Response({"room": line.room.public_id, "seq": line.seq})


class RoomMembersView(ApiView):
    @extend_schema(responses={200: MembersOut, **ERRORS}, tags=["rooms"])
    def get(self, request: AuthenticatedRequest, room_id: str) -> Response:
        return Response(room_members_with_presence(request.user, room_id=room_id))


class ConversationsView(ApiView):
    @extend_schema(
        responses={200: MyRoomListOut, **ERRORS},
        tags=["conversations"],
        summary="Your direct conversations, latest activity first",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        rooms = [room for room in rooms_with_state(request.user) if room["kind"] == "direct"]
        return Response({"results": rooms})

    @extend_schema(
        request=ConversationOpenIn,
        responses={200: RoomOut, **WRITE_ERRORS},
        tags=["conversations"],
        summary="Open (or find) the conversation with a user",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = parse(ConversationOpenIn, request.data)
        room = direct_open(request.user, username=data["username"])
        return Response(wire.room_data(room, peer=direct_peer(request.user, room)))
