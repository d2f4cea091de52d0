from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from api.views import (
    account,
    mentions,
    messages,
    reactions,
    rooms,
    search,
    session,
    uploads,
    users,
    version,
)
from api.views.common import EndpointNotFoundView

app_name = "api"
urlpatterns = [
    path("v1/me", account.MeView.as_view(), name="me"),
    path("v1/me/rooms", rooms.MyRoomsView.as_view(), name="my-rooms"),
    path("v1/mentions", mentions.MentionsView.as_view(), name="mentions"),
    path(
        "v1/me/logout-everywhere",
        account.LogoutEverywhereView.as_view(),
        name="logout-everywhere",
    ),
    path("v1/session", session.SessionView.as_view(), name="session"),
    path("v1/tokens", account.TokensView.as_view(), name="tokens"),
    path("v1/tokens/<int:token_id>", account.TokenView.as_view(), name="token"),
    path("v1/rooms", rooms.RoomsView.as_view(), name="rooms"),
    path("v1/rooms/<str:room_id>", rooms.RoomView.as_view(), name="room"),
    path("v1/rooms/<str:room_id>/join", rooms.RoomJoinView.as_view(), name="room-join"),
    path("v1/rooms/<str:room_id>/leave", rooms.RoomLeaveView.as_view(), name="room-leave"),
    path("v1/rooms/<str:room_id>/members", rooms.RoomMembersView.as_view(), name="room-members"),
    path("v1/rooms/<str:room_id>/messages", messages.MessagesView.as_view(), name="messages"),
    path(
        "v1/rooms/<str:room_id>/messages/<int:seq>", messages.MessageView.as_view(), name="message"
    ),
    path(
        "v1/rooms/<str:room_id>/messages/<int:seq>/reactions/<str:emoji>",
        reactions.ReactionView.as_view(),
        name="reaction",
    ),
    path("v1/rooms/<str:room_id>/read", messages.ReadView.as_view(), name="read"),
    path("v1/rooms/<str:room_id>/uploads", uploads.UploadsView.as_view(), name="uploads"),
    path("v1/conversations", rooms.ConversationsView.as_view(), name="conversations"),
    path("v1/search", search.SearchView.as_view(), name="search"),
    path("v1/users", users.UsersView.as_view(), name="users"),
    path("v1/users/<str:username>", users.UserView.as_view(), name="user"),
    path("v1/version", version.VersionView.as_view(), name="version"),
    # Last: whatever else is asked for under v1/ gets the API's 404, not the HTML page.
    re_path(r"^v1/(?P<path>[\s\S]*)$", EndpointNotFoundView.as_view()),
]
urlpatterns += [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
