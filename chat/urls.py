from django.urls import path

from chat import downloads, views

app_name = "chat"
urlpatterns = [
    path("", views.home, name="home"),
    path("rooms/new/", views.create_room, name="create_room"),
    path("direct/", views.open_direct, name="open_direct"),
    path("mentions/", views.mentions, name="mentions"),
    path("search/", views.search, name="search"),
    path("rooms/<uuid:room_id>/", views.room, name="room"),
    path("rooms/<uuid:room_id>/post/", views.post, name="post"),
    path("rooms/<uuid:room_id>/older/", views.older_history, name="older"),
    path("rooms/<uuid:room_id>/members/", views.members, name="members"),
    path("rooms/<uuid:room_id>/join/", views.join, name="join"),
    path("rooms/<uuid:room_id>/leave/", views.leave, name="leave"),
    # Uploaded files (chat.wire.FILE_URL, THUMBNAIL_URL): the thumbnail's route comes first.
    path(
        "files/<uuid:attachment_id>/thumbnail",
        downloads.attachment_thumbnail,
        name="file-thumbnail",
    ),
    path("files/<uuid:attachment_id>/<str:name>", downloads.attachment_download, name="file"),
]
