"""Request shapes (checked here for types; the services check the rules) and response shapes
(for the OpenAPI schema; responses are built by chat.wire, as on the socket)."""

from typing import Any

from django.core.validators import ProhibitNullCharactersValidator
from rest_framework import serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from accounts.models import AccessToken
from accounts.tokens import MAX_LIFETIME_DAYS
from chat.selectors.paging import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, MAX_LIMIT


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not define, so a typo is an error rather than ignored."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["This field is not accepted."] for name in unknown}
                )
        return super().to_internal_value(data)


class JsonString(serializers.CharField):
    """A JSON string and nothing else: a number is a wrong type, not text (as on the socket)."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ServiceCheckedText(JsonString):
    """Text whose characters the service checks, so that the API answers with the socket's codes
    (`body_invalid` for a NUL, say) rather than DRF's generic refusal."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        self.validators = [
            validator
            for validator in self.validators
            if not isinstance(
                validator, ProhibitNullCharactersValidator | ProhibitSurrogateCharactersValidator
            )
        ]


class JsonInteger(serializers.IntegerField):
    """A JSON integer and nothing else: `3`, not `3.0`, `"3"` or `true` (as on the socket)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class MessagePostIn(StrictSerializer):
    body = ServiceCheckedText(
        allow_blank=True,
        required=False,
        help_text="The text; may be empty or left out when the message carries files.",
    )
    client_id = ServiceCheckedText(required=False, allow_null=True)
    attachments = serializers.ListField(
        child=JsonString(),
        required=False,
        allow_null=True,
        help_text="Ids of your uploads to this room (POST .../uploads) not yet posted, at most "
        "PARLEY_ATTACHMENTS_PER_MESSAGE (10 by default). Any other id is refused (400 "
        "`invalid`, details.field `attachments`) and nothing is posted.",
    )
    reply_to = JsonInteger(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**53,
        help_text="The seq of an earlier text message of this room that this one answers. One "
        "that does not exist yet, is a system line or was deleted is refused (400 "
        "`reply_not_found`) and nothing is posted.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "body" not in attrs and not attrs.get("attachments"):
            raise serializers.ValidationError({"body": ["This field is required."]})
        return attrs


class UploadIn(StrictSerializer):
    file = serializers.FileField(
        allow_empty_file=True,
        use_url=False,
        help_text="The file (multipart/form-data). Its type is read from its bytes; the part's "
        "Content-Type is ignored.",
    )


class MessageEditIn(StrictSerializer):
    body = ServiceCheckedText(allow_blank=True)


class RoomCreateIn(StrictSerializer):
    name = ServiceCheckedText(allow_blank=True)
    visibility = serializers.ChoiceField(choices=["public", "invite", "staff"], default="public")


class ConversationOpenIn(StrictSerializer):
    username = ServiceCheckedText(allow_blank=True)


class ReadMarkIn(StrictSerializer):
    seq = JsonInteger(min_value=0, max_value=2**53)


class TokenCreateIn(StrictSerializer):
    name = JsonString(allow_blank=True)
    expires_in_days = JsonInteger(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_LIFETIME_DAYS,
        help_text="Days until the token stops working; omitted or null: until revoked.",
    )
    password = JsonString(
        required=False,
        trim_whitespace=False,
        help_text="Your password, typed again; required with a session. A request "
        "authenticated by a token is refused (403 `session_required`): tokens cannot create "
        "tokens.",
    )


class LogoutEverywhereIn(StrictSerializer):
    password = JsonString(
        required=False,
        trim_whitespace=False,
        help_text="Your password, typed again; required (a token is refused).",
    )


class SessionLoginIn(StrictSerializer):
    """A username and password, checked by the same rules as on the log-in page."""

    username = JsonString(allow_blank=True, trim_whitespace=False)
    password = JsonString(allow_blank=True, trim_whitespace=False)


class HistoryQuery(StrictSerializer):
    before = serializers.IntegerField(required=False, min_value=0, max_value=2**53)
    after = serializers.IntegerField(required=False, min_value=0, max_value=2**53)
    around = serializers.IntegerField(required=False, min_value=1, max_value=2**53)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=2**53)


class PageQuery(serializers.Serializer):
    """The query of every paged list; other query parameters are ignored."""

    cursor = serializers.CharField(
        required=False,
        max_length=MAX_CURSOR_LENGTH,
        help_text="The `next_cursor` of the page before, as given (opaque; anything else is 400).",
    )
    limit = serializers.IntegerField(
        required=False,
        default=DEFAULT_LIMIT,
        min_value=1,
        max_value=MAX_LIMIT,
        help_text="Page size",
    )


# Responses


class UserOut(serializers.Serializer):
    username = serializers.CharField()
    display_name = serializers.CharField()


class MeOut(UserOut):
    is_staff = serializers.BooleanField()


class AttachmentOut(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(help_text="The file's name as Parley cleaned it.")
    size = serializers.IntegerField(help_text="Bytes stored (an image's after it is re-encoded).")
    content_type = serializers.CharField(help_text="As Parley read it from the bytes.")
    kind = serializers.ChoiceField(choices=["image", "file"])
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    url = serializers.CharField(help_text="Download path; members of the room only.")
    thumbnail_url = serializers.CharField(allow_null=True, help_text="Images only.")


class ReactionOut(serializers.Serializer):
    emoji = serializers.CharField(help_text="One emoji.")
    count = serializers.IntegerField(help_text="How many people reacted with it.")
    users = serializers.ListField(
        child=serializers.CharField(),
        help_text="Usernames of the first 20 who reacted with it, in the order they did.",
    )


class ReplyOut(serializers.Serializer):
    seq = serializers.IntegerField()
    author = UserOut(allow_null=True)
    excerpt = serializers.CharField(
        allow_blank=True,
        help_text="The first line of its text as written (Markdown source), at most 120 "
        'characters (a cut one ends in "\u2026"); "" when it was deleted. Show it as text.',
    )
    deleted = serializers.BooleanField()


class MessageOut(serializers.Serializer):
    seq = serializers.IntegerField()
    kind = serializers.ChoiceField(
        choices=["text", "joined", "left", "renamed", "archived", "unarchived"]
    )
    author = UserOut(allow_null=True)
    body = serializers.CharField(
        allow_blank=True, help_text="The text as its author wrote it (Markdown source)."
    )
    body_html = serializers.CharField(
        allow_blank=True,
        help_text=(
            "A text message's body rendered as sanitized HTML (p, br, strong, em, del, s, code, "
            "pre, blockquote, ul, ol, li, a with http, https or mailto links, and "
            '<span class="mention" data-username="..."> for each recorded mention, '
            '<span class="mention-room"> for an honoured @room); "" for '
            'system lines and deleted messages. When it is "", show `body` as plain text.'
        ),
    )
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    deleted = serializers.BooleanField()
    client_id = serializers.CharField(allow_null=True)
    attachments = AttachmentOut(many=True)
    reactions = ReactionOut(
        many=True,
        help_text="Per emoji, in the order first used; [] for system lines and deleted messages.",
    )
    reply_to = ReplyOut(
        allow_null=True,
        help_text="The message this one answers; null when it answers none, and for deleted "
        "messages.",
    )
    mentions = serializers.ListField(
        child=serializers.CharField(),
        help_text="Usernames the message mentions (members who may see the room, never the "
        "author), at most 50, in the order recorded.",
    )
    mentions_room = serializers.BooleanField(
        help_text="The message said @room, from a room admin or staff: every member is mentioned."
    )


class MessageEnvelopeOut(serializers.Serializer):
    room = serializers.UUIDField()
    message = MessageOut()


class RoomOut(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(allow_blank=True)
    kind = serializers.ChoiceField(choices=["group", "direct"])
    visibility = serializers.ChoiceField(choices=["public", "invite", "staff"])
    archived = serializers.BooleanField()
    last_seq = serializers.IntegerField()
    peer = UserOut(required=False, allow_null=True)


class DirectoryRoomOut(RoomOut):
    is_member = serializers.BooleanField()
    member_count = serializers.IntegerField()


class LastMessageOut(serializers.Serializer):
    seq = serializers.IntegerField()
    author = serializers.CharField(allow_null=True)
    author_name = serializers.CharField(allow_null=True, help_text="The author's display name.")
    preview = serializers.CharField(allow_blank=True)
    deleted = serializers.BooleanField()


class MyRoomOut(RoomOut):
    role = serializers.ChoiceField(choices=["member", "admin"])
    last_read_seq = serializers.IntegerField()
    unread = serializers.IntegerField()
    unread_mentions = serializers.IntegerField(
        help_text="Mentions of you in messages after your read marker."
    )
    last_activity_at = serializers.DateTimeField()
    last_message = LastMessageOut(allow_null=True)


class RoomListOut(serializers.Serializer):
    results = DirectoryRoomOut(many=True, help_text="By name, regardless of case.")
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as `cursor` for the next page; null on the last one."
    )


class MyRoomListOut(serializers.Serializer):
    results = MyRoomOut(many=True)


class MemberOut(UserOut):
    role = serializers.ChoiceField(choices=["member", "admin"])
    online = serializers.BooleanField()


class MembersOut(serializers.Serializer):
    members = MemberOut(many=True)
    online_count = serializers.IntegerField()


class HistoryOut(serializers.Serializer):
    room = serializers.UUIDField()
    messages = MessageOut(many=True)
    has_more = serializers.BooleanField(
        help_text="More entries beyond the page: newer ones with `after`, older ones otherwise."
    )
    has_more_after = serializers.BooleanField(
        required=False, help_text="Only with `around`: newer entries beyond the page."
    )


class SeqOut(serializers.Serializer):
    room = serializers.UUIDField()
    seq = serializers.IntegerField()


class ReactionsOut(serializers.Serializer):
    room = serializers.UUIDField()
    seq = serializers.IntegerField()
    reactions = ReactionOut(many=True)


class ReadOut(serializers.Serializer):
    room = serializers.UUIDField()
    last_read_seq = serializers.IntegerField()
    unread = serializers.IntegerField()
    unread_mentions = serializers.IntegerField()


class TokenOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked = serializers.BooleanField()
    expires_at = serializers.DateTimeField(allow_null=True)
    active = serializers.BooleanField(help_text="Neither revoked nor expired.")
    created_via = serializers.ChoiceField(
        choices=AccessToken.Origin.values,
        help_text="How it was created: `session` (the tokens page, or the API with a session "
        "and the password), `token` (by another token, before that was refused), `server` (by "
        "code on the server), `unknown` (before origins were recorded).",
    )
    created_by = serializers.IntegerField(
        allow_null=True, help_text="The id of the token that created this one, if one did."
    )


class TokenCreatedOut(TokenOut):
    token = serializers.CharField(help_text="The token itself: shown this once, never again.")


class TokenListOut(serializers.Serializer):
    results = TokenOut(many=True)


class LogoutEverywhereOut(serializers.Serializer):
    revoked_tokens = serializers.IntegerField(help_text="How many active tokens were revoked.")


class ErrorBodyOut(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField(required=False)


class ErrorOut(serializers.Serializer):
    error = ErrorBodyOut()


class VersionOut(serializers.Serializer):
    parley = serializers.CharField(help_text="The server's package version.")
    api = serializers.CharField(help_text="The REST API's version: the `v1` in its paths.")
    protocol = serializers.IntegerField(
        help_text="The socket protocol's version (docs/protocol.md)."
    )
