"""The REST API's bodies for people: the user directory's query, a listed user and a profile.

Apart from api/serializers.py so that each module stays within the 400 lines
tests/test_layers.py allows.
"""

from rest_framework import serializers

from api.serializers import PageQuery, UserOut
from chat.selectors.users import QUERY_MAX_LENGTH


class UsersQuery(PageQuery):
    # Untrimmed here, so that the length limit is the one the schema states; the selector trims.
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=QUERY_MAX_LENGTH,
        help_text="Users whose username or display name starts with this, in any case; "
        "%, _ and \\ are plain characters. Empty or blank: everyone.",
    )


class ListedUserOut(UserOut):
    avatar = serializers.CharField(
        required=False, help_text="Their picture's URL; absent when they have none."
    )
    online = serializers.BooleanField(help_text="Whether they have a live connection now.")


class UserListOut(serializers.Serializer):
    results = ListedUserOut(many=True, help_text="By username, regardless of case.")
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as `cursor` for the next page; null on the last one."
    )


class ProfileOut(ListedUserOut):
    date_joined = serializers.DateTimeField()
