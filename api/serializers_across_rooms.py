"""The REST API's bodies for lists of messages from many rooms: search results and mentions.

They build on api/serializers.py (the message, room and user shapes) and live apart from it so
that each module stays within the 400 lines tests/test_layers.py allows.
"""

from rest_framework import serializers

from api.serializers import MessageOut, RoomOut, ServiceCheckedText, StrictSerializer, UserOut

# Queries


class MentionsQuery(StrictSerializer):
    before = serializers.IntegerField(required=False, min_value=1, max_value=2**53)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=2**53)


class SearchQuery(StrictSerializer):
    # Text as given: the selector trims and checks it, answering with the socket's codes.
    q = ServiceCheckedText(required=True, allow_blank=True, help_text="Words to find")
    room = serializers.CharField(required=False, help_text="Only this room (its id)")
    author = serializers.CharField(required=False, help_text="Only this author (username)")
    cursor = serializers.CharField(required=False, help_text="next_cursor of the page before")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=2**53)


# Responses


class SearchRoomOut(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(
        allow_blank=True, help_text="A direct conversation's is the other person's name."
    )
    kind = serializers.ChoiceField(choices=["group", "direct"])


class SearchMatchOut(serializers.Serializer):
    start = serializers.IntegerField(help_text="Offset in `excerpt`, in Unicode code points.")
    end = serializers.IntegerField(help_text="Offset just past the match.")


class SearchResultOut(serializers.Serializer):
    room = SearchRoomOut()
    seq = serializers.IntegerField(help_text="Open the room at this seq to show the message.")
    author = UserOut(allow_null=True)
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    body = serializers.CharField(help_text="The whole text as its author wrote it (Markdown).")
    excerpt = serializers.CharField(
        help_text="Plain text around the first match, on one line; show it as text."
    )
    matches = SearchMatchOut(many=True, help_text="The matched words in `excerpt`.")


class SearchOut(serializers.Serializer):
    results = SearchResultOut(many=True, help_text="Newest first.")
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as `cursor` for older results; null at the end."
    )


class MentionOut(serializers.Serializer):
    id = serializers.IntegerField(help_text="The cursor for the next page (`before`).")
    room = RoomOut()
    seq = serializers.IntegerField()
    mentioned_at = serializers.DateTimeField()
    message = MessageOut()


class MentionsOut(serializers.Serializer):
    mentions = MentionOut(many=True)
    has_more = serializers.BooleanField()
